"""End to end: the official ``openai`` SDK -> the running gateway -> the fake Mistral upstream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import orjson
import pytest
from openai import OpenAI

from tests.conftest import RunningGateway, make_settings
from tests.fakes.mistral_fake import VALID_KEY, FakeMistral, chunk, fake_vector, mistral_error
from tests.fakes.server import Scripted, sse
from tests.openapi import assert_valid

MODEL = "mistral/mistral-small-latest"
MESSAGES: Any = [{"role": "user", "content": "hello there"}]
WEATHER: Any = {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
TIME: Any = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeMistral]:
    server = FakeMistral().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, fake: FakeMistral) -> Iterator[RunningGateway]:
    """One gateway for the module (starting one per test costs more than the tests)."""
    env = {"MISTRAL_API_KEY": VALID_KEY, "MISTRAL_BASE_URL": fake.url}
    gateway = RunningGateway(make_settings(tmp_path_factory.mktemp("mistral"), env))
    yield gateway
    gateway.stop()


@pytest.fixture(autouse=True)
def _fresh_log(fake: FakeMistral) -> None:
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


def test_chat_completion_and_record(gw: RunningGateway, fake: FakeMistral) -> None:
    raw = gw.http.post("/v1/chat/completions", json={"model": MODEL, "messages": MESSAGES, "seed": 4,
                                                     "max_tokens": 30})
    assert raw.status_code == 200
    assert_valid("CreateChatCompletionResponse", raw.json())
    sent = fake.last
    assert (sent.path, sent.headers["authorization"]) == ("/v1/chat/completions", f"Bearer {VALID_KEY}")
    assert sent.body == {"model": "mistral-small-latest", "messages": MESSAGES, "random_seed": 4, "max_tokens": 30}
    completion = client(gw).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (12, 5)
    record = gw.records()[0]
    assert (record["provider"], record["status"], record["input_tokens"], record["output_tokens"]) == (
        "mistral", "SUCCESS", 12, 5)


def test_stream_chunks_are_valid_and_carry_text_reasoning_and_usage(gw: RunningGateway) -> None:
    payloads = stream_payloads(gw, {"model": MODEL, "messages": MESSAGES, "stream": True,
                                    "reasoning_effort": "high", "stream_options": {"include_usage": True}})
    assert payloads[-1] == "[DONE]"
    chunks = payloads[:-1]
    for item in chunks:
        assert_valid("CreateChatCompletionStreamResponse", item)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == "echo: hello there"
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == "Let me think."
    assert chunks[-1]["usage"]["prompt_tokens"] == 12 and chunks[-1]["usage"]["completion_tokens"] == 4
    record = gw.records()[0]
    assert (record["provider"], record["status"], record["input_tokens"], record["output_tokens"]) == (
        "mistral", "SUCCESS", 12, 4)


def test_stream_through_the_sdk(gw: RunningGateway) -> None:
    stream = client(gw).chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    chunks = list(stream)
    for item in chunks:
        assert_valid("CreateChatCompletionStreamResponse", item.model_dump(exclude_unset=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hello there"
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls(gw: RunningGateway, fake: FakeMistral, stream: bool) -> None:
    sdk = client(gw)
    if stream:
        chunks = list(sdk.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                                  tools=[WEATHER, TIME], tool_choice="required"))
        for item in chunks:
            assert_valid("CreateChatCompletionStreamResponse", item.model_dump(exclude_unset=True))
        deltas = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
        assert [(d.index, d.id, d.type, d.function.name, d.function.arguments) for d in deltas  # type: ignore[union-attr]
                ] == [(0, "aB3xK9mP2", "function", "get_weather", '{"city": "Paris"}'),
                      (1, "Zq7Wn4Rt8", "function", "get_time", '{"city": "Rome"}')]
        assert chunks[-1].choices[0].finish_reason == "tool_calls"
    else:
        completion = sdk.chat.completions.create(model=MODEL, messages=MESSAGES, tools=[WEATHER],
                                                 tool_choice={"type": "function", "function": {"name": "get_weather"}})
        calls = completion.choices[0].message.tool_calls
        assert calls is not None and calls[0].function.name == "get_weather"  # type: ignore[union-attr]
        assert completion.choices[0].finish_reason == "tool_calls"
    sent = fake.last.body
    assert sent["tools"][0] == WEATHER
    assert sent["tool_choice"] == ("any" if stream else {"type": "function", "function": {"name": "get_weather"}})


def test_tool_results_from_another_provider_round_trip(gw: RunningGateway, fake: FakeMistral) -> None:
    history: Any = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    ]
    completion = client(gw).chat.completions.create(model=MODEL, messages=history, tools=[WEATHER])
    assert completion.choices[0].message.content == "echo: weather?"
    sent = fake.last.body["messages"]
    assert sent[2]["tool_calls"][0]["id"] == sent[3]["tool_call_id"]
    assert sent[3]["name"] == "get_weather"


@pytest.mark.parametrize("fmt", [
    {"type": "json_object"},
    {"type": "json_schema", "json_schema": {"name": "echo", "strict": True, "schema": {
        "type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"]}}},
])
def test_response_format(gw: RunningGateway, fake: FakeMistral, fmt: Any) -> None:
    completion = client(gw).chat.completions.create(model=MODEL, messages=MESSAGES, response_format=fmt)
    assert fake.last.body["response_format"] == fmt
    assert orjson.loads(completion.choices[0].message.content or "") == {"echo": "hello there"}


def test_unsupported_parameter_is_a_400(gw: RunningGateway, fake: FakeMistral) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(gw).chat.completions.create(model=MODEL, messages=MESSAGES, logprobs=True)
    assert caught.value.status_code == 400 and not fake.requests


def test_embeddings(gw: RunningGateway, fake: FakeMistral) -> None:
    sdk = client(gw)
    default = sdk.embeddings.create(model="mistral/mistral-embed", input=["a", "b"])
    assert [d.embedding for d in default.data] == [pytest.approx(fake_vector(t, 8), rel=1e-6) for t in "ab"]
    floats = sdk.embeddings.create(model="mistral/codestral-embed", input="a", encoding_format="float", dimensions=4)
    assert floats.data[0].embedding == pytest.approx(fake_vector("a", 4), rel=1e-6)
    assert fake.last.body == {"model": "codestral-embed", "input": ["a"], "output_dtype": "float",
                              "output_dimension": 4}
    assert_valid("CreateEmbeddingResponse", gw.http.post("/v1/embeddings", json={
        "model": "mistral/mistral-embed", "input": "x", "encoding_format": "float"}).json())


@pytest.mark.parametrize(("scripted", "exception", "status"), [
    (Scripted(status=401, json={"message": "Unauthorized", "request_id": "r"}), openai.AuthenticationError, 401),
    (mistral_error(429, "Requests rate limit exceeded", "rate_limited", None, {"retry-after": "3"}),
     openai.RateLimitError, 429),
    (mistral_error(500, "Internal server error", "internal_server_error"), openai.InternalServerError, 502),
    (Scripted(status=422, json={"detail": [{"loc": ["body", "temperature"], "msg": "too high", "type": "x"}]}),
     openai.BadRequestError, 400),
])
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_errors_raise_the_matching_sdk_exception(gw: RunningGateway, fake: FakeMistral, scripted: Scripted,
                                                          exception: type[Exception], status: int,
                                                          stream: bool) -> None:
    fake.enqueue(scripted)
    with pytest.raises(exception) as caught:
        client(gw).chat.completions.create(model=MODEL, messages=MESSAGES, stream=stream)
    error = caught.value
    assert isinstance(error, openai.APIStatusError) and error.status_code == status
    assert_valid("ErrorResponse", error.response.json())
    assert error.response.json()["error"]["message"].startswith("mistral: ")
    if status == 429:
        assert error.response.headers["retry-after"] == "3"
    record = gw.records()[0]
    assert (record["status"], record["http_status"], record["provider"]) == ("FAILED", status, "mistral")


def test_error_event_inside_the_stream_reaches_the_sdk(gw: RunningGateway, fake: FakeMistral) -> None:
    frames = sse([chunk({"role": "assistant", "content": "par"}),
                  {"object": "error", "message": "Generation failed", "type": "internal_server_error"}])
    fake.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    received: list[str] = []
    with pytest.raises(openai.APIError, match="Generation failed"):
        for item in client(gw).chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
            received.append(item.choices[0].delta.content or "")
    assert "par" in received
    assert gw.records()[0]["status"] == "FAILED"


def test_verify_credentials_route(gw: RunningGateway, fake: FakeMistral) -> None:
    good = gw.http.post("/v1/credentials/verify", json={"provider": "mistral"})
    bad = gw.http.post("/v1/credentials/verify", json={"provider": "mistral", "credential": {
        "key": "wrong", "base_url": fake.url}})
    assert (good.status_code, good.json()["valid"]) == (200, True)
    assert (bad.status_code, bad.json()["valid"]) == (200, False)
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/v1/models")] * 2
