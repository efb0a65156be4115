"""End to end: the official ``openai`` SDK -> the running gateway -> the fake MiniMax upstream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import orjson
import pytest
from openai import OpenAI

from tests.conftest import RunningGateway, make_settings
from tests.fakes.minimax_fake import THINKING, VALID_KEY, FakeMiniMax, base_resp, delta_chunk
from tests.fakes.server import Scripted, sse
from tests.openapi import assert_valid

MODEL = "minimax/MiniMax-M2"
HELLO: Any = [{"role": "user", "content": "hello there"}]
WEATHER_Q: Any = [{"role": "user", "content": "weather in Paris?"}]
WEATHER: Any = {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeMiniMax]:
    server = FakeMiniMax().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, fake: FakeMiniMax) -> Iterator[RunningGateway]:
    """One gateway for the module (starting one per test costs more than the tests)."""
    env = {"MINIMAX_API_KEY": VALID_KEY, "MINIMAX_BASE_URL": fake.url + "/v1"}
    gateway = RunningGateway(make_settings(tmp_path_factory.mktemp("minimax"), env))
    yield gateway
    gateway.stop()


@pytest.fixture(autouse=True)
def _fresh_log(fake: FakeMiniMax) -> None:
    fake.requests.clear()


def client(gw: RunningGateway) -> OpenAI:
    return OpenAI(base_url=gw.url + "/v1", api_key="anything", max_retries=0)


def stream_payloads(gw: RunningGateway, body: dict[str, Any]) -> list[Any]:
    payloads: list[Any] = []
    with gw.http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                data = line[6:]
                payloads.append(data if data == "[DONE]" else orjson.loads(data))
    return payloads


def test_chat_completion_separates_reasoning_and_records_tokens(gw: RunningGateway, fake: FakeMiniMax) -> None:
    raw = gw.http.post("/v1/chat/completions", json={"model": MODEL, "messages": HELLO, "temperature": 0,
                                                     "max_tokens": 40})
    assert raw.status_code == 200
    body = raw.json()
    assert_valid("CreateChatCompletionResponse", body)
    message = body["choices"][0]["message"]
    assert message["content"] == "echo: hello there" and "<think>" not in message["content"]
    assert message["reasoning_content"] == THINKING + "\n"
    sent = fake.last
    assert (sent.path, sent.headers["authorization"]) == ("/v1/chat/completions", f"Bearer {VALID_KEY}")
    assert sent.body == {"model": "MiniMax-M2", "messages": HELLO, "temperature": 0.01, "max_completion_tokens": 40}
    assert body["usage"]["prompt_tokens"] == 14 and body["usage"]["completion_tokens"] == 9
    assert body["usage"]["completion_tokens_details"] == {"reasoning_tokens": 5}
    record = gw.records()[0]
    assert (record["provider"], record["status"], record["input_tokens"], record["output_tokens"]) == (
        "minimax", "SUCCESS", 14, 9)


def test_stream_chunks_are_valid_and_think_text_is_reasoning(gw: RunningGateway) -> None:
    payloads = stream_payloads(gw, {"model": MODEL, "messages": HELLO, "stream": True,
                                    "stream_options": {"include_usage": True}})
    assert payloads[-1] == "[DONE]"
    chunks = payloads[:-1]
    for item in chunks:
        assert_valid("CreateChatCompletionStreamResponse", item)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == "echo: hello there"
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == THINKING + "\n"
    assert not any("<" in (d.get("content") or "") for d in deltas)
    assert chunks[-1]["usage"]["prompt_tokens"] == 14 and chunks[-1]["usage"]["completion_tokens"] == 9
    record = gw.records()[0]
    assert (record["provider"], record["status"], record["input_tokens"], record["output_tokens"]) == (
        "minimax", "SUCCESS", 14, 9)


def test_stream_through_the_sdk(gw: RunningGateway) -> None:
    chunks = list(client(gw).chat.completions.create(model=MODEL, messages=HELLO, stream=True))
    for item in chunks:
        assert_valid("CreateChatCompletionStreamResponse", item.model_dump(exclude_unset=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hello there"
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls(gw: RunningGateway, fake: FakeMiniMax, stream: bool) -> None:
    sdk = client(gw)
    if stream:
        chunks = list(sdk.chat.completions.create(model=MODEL, messages=WEATHER_Q, stream=True, tools=[WEATHER]))
        for item in chunks:
            assert_valid("CreateChatCompletionStreamResponse", item.model_dump(exclude_unset=True))
        deltas = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
        assert [(d.index, d.id, d.function.name, d.function.arguments) for d in deltas  # type: ignore[union-attr]
                ] == [(0, "call_function_x1", "get_weather", '{"city": "Paris"}')]
        assert chunks[-1].choices[0].finish_reason == "tool_calls"
    else:
        completion = sdk.chat.completions.create(model=MODEL, messages=WEATHER_Q, tools=[WEATHER], tool_choice="auto")
        calls = completion.choices[0].message.tool_calls
        assert calls is not None and calls[0].function.arguments == '{"city": "Paris"}'  # type: ignore[union-attr]
        assert completion.choices[0].finish_reason == "tool_calls"
    sent = fake.last.body
    assert sent["tools"] == [WEATHER] and "tool_choice" not in sent


def test_tool_results_round_trip(gw: RunningGateway, fake: FakeMiniMax) -> None:
    history: Any = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "hello there"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    ]
    completion = client(gw).chat.completions.create(model=MODEL, messages=history, tools=[WEATHER])
    assert completion.choices[0].message.content == "echo: hello there"
    sent = fake.last.body["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert sent[2]["content"] == "" and sent[3] == {"role": "tool", "tool_call_id": "call_1", "content": "18C"}


def test_tool_choice_none_withholds_tools_and_required_is_refused(gw: RunningGateway, fake: FakeMiniMax) -> None:
    client(gw).chat.completions.create(model=MODEL, messages=WEATHER_Q, tools=[WEATHER], tool_choice="none")
    assert "tools" not in fake.last.body
    fake.requests.clear()
    with pytest.raises(openai.BadRequestError) as caught:
        client(gw).chat.completions.create(model=MODEL, messages=WEATHER_Q, tools=[WEATHER], tool_choice="required")
    assert caught.value.response.json()["error"]["param"] == "tool_choice" and not fake.requests


@pytest.mark.parametrize("extra", [{"presence_penalty": 0.5}, {"n": 2}, {"seed": 1},
                                   {"response_format": {"type": "json_object"}}, {"logprobs": True}])
def test_undocumented_parameters_are_a_400_before_any_upstream_call(gw: RunningGateway, fake: FakeMiniMax,
                                                                   extra: dict[str, Any]) -> None:
    response = gw.http.post("/v1/chat/completions", json={"model": MODEL, "messages": HELLO, **extra})
    assert response.status_code == 400 and not fake.requests
    assert_valid("ErrorResponse", response.json())


@pytest.mark.parametrize(("scripted", "exception", "status"), [
    (base_resp(1004, "login fail"), openai.AuthenticationError, 401),
    (base_resp(1002, "rate limit"), openai.RateLimitError, 429),
    (base_resp(1008, "insufficient balance"), openai.RateLimitError, 429),
    (Scripted(status=429, headers={"retry-after": "3"}, json={"error": {"message": "slow down"}}),
     openai.RateLimitError, 429),
    (base_resp(1024, "internal error"), openai.InternalServerError, 502),
    (Scripted(status=500, json={"base_resp": {"status_code": 1000, "status_msg": "unknown error"}}),
     openai.InternalServerError, 502),
])
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_errors_raise_the_matching_sdk_exception(gw: RunningGateway, fake: FakeMiniMax, scripted: Scripted,
                                                          exception: type[Exception], status: int,
                                                          stream: bool) -> None:
    fake.enqueue(scripted)
    with pytest.raises(exception) as caught:
        client(gw).chat.completions.create(model=MODEL, messages=HELLO, stream=stream)
    error = caught.value
    assert isinstance(error, openai.APIStatusError) and error.status_code == status
    assert_valid("ErrorResponse", error.response.json())
    assert error.response.json()["error"]["message"].startswith("minimax: ")
    if scripted.headers:
        assert error.response.headers["retry-after"] == "3"
    record = gw.records()[0]
    assert (record["status"], record["http_status"], record["provider"]) == ("FAILED", status, "minimax")


def test_insufficient_balance_uses_openai_quota_code(gw: RunningGateway, fake: FakeMiniMax) -> None:
    fake.enqueue(base_resp(1008, "insufficient balance"))
    with pytest.raises(openai.RateLimitError) as caught:
        client(gw).chat.completions.create(model=MODEL, messages=HELLO)
    assert caught.value.code == "insufficient_quota"


def test_error_event_inside_the_stream_reaches_the_sdk(gw: RunningGateway, fake: FakeMiniMax) -> None:
    frames = sse([delta_chunk({"content": "echo"}), {"base_resp": {"status_code": 1027, "status_msg": "output "
                                                                                                       "sensitive"}}])
    fake.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    received: list[str] = []
    with pytest.raises(openai.APIError, match="output sensitive"):
        for item in client(gw).chat.completions.create(model=MODEL, messages=HELLO, stream=True):
            received.append(item.choices[0].delta.content or "")
    assert "echo" in received
    assert gw.records()[0]["status"] == "FAILED"


def test_verify_credentials_route(gw: RunningGateway, fake: FakeMiniMax) -> None:
    good = gw.http.post("/v1/credentials/verify", json={"provider": "minimax"})
    bad = gw.http.post("/v1/credentials/verify", json={"provider": "minimax", "credential": {
        "key": "wrong", "base_url": fake.url + "/v1"}})
    assert (good.status_code, good.json()["valid"]) == (200, True)
    assert (bad.status_code, bad.json()["valid"]) == (200, False)
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/v1/models")] * 2
