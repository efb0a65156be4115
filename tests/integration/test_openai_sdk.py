"""End to end: the official ``openai`` Python SDK -> the running gateway -> the fake OpenAI upstream.

Every response body and stream chunk is validated against OpenAI's own OpenAPI document.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

import openai
import orjson
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageFunctionToolCall

from tests.conftest import RunningGateway
from tests.fakes.openai_fake import FakeOpenAI, fake_vector, openai_error
from tests.fakes.server import Scripted
from tests.openapi import assert_valid

MESSAGES: list[Any] = [{"role": "user", "content": "hello there"}]
WEATHER_TOOL: Any = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def client(gw: RunningGateway) -> OpenAI:
    return OpenAI(base_url=gw.url + "/v1", api_key="anything", max_retries=0)


def sse_payloads(gw: RunningGateway, body: dict[str, Any]) -> list[Any]:
    """The decoded ``data:`` payloads of a streamed chat completion, ``[DONE]`` kept as a string."""
    payloads: list[Any] = []
    with gw.http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        for line in response.iter_lines():
            if line.startswith("data: "):
                data = line[6:]
                payloads.append(data if data == "[DONE]" else orjson.loads(data))
    return payloads


def test_chat_completion(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    response = gateway.http.post("/v1/chat/completions", json={"model": "openai/gpt-4o-mini", "messages": MESSAGES})
    assert response.status_code == 200
    assert_valid("CreateChatCompletionResponse", response.json())
    completion = client(gateway).chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "openai/gpt-4o-mini"
    assert completion.usage is not None and completion.usage.total_tokens == 18
    assert fake_openai.last.body["model"] == "gpt-4o-mini"


def test_stream_without_usage_strips_the_usage_chunk(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    payloads = sse_payloads(gateway, {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "stream": True})
    assert fake_openai.last.body["stream_options"] == {"include_usage": True}
    assert payloads[-1] == "[DONE]"
    chunks = payloads[:-1]
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk)
        assert chunk["choices"], "a usage-only chunk leaked to a client that did not ask for usage"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "echo: hello there"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert len({c["id"] for c in chunks}) == 1


def test_stream_with_usage_through_the_sdk(gateway: RunningGateway) -> None:
    stream = client(gateway).chat.completions.create(
        model="openai/gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hello there"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls(gateway: RunningGateway, fake_openai: FakeOpenAI, stream: bool) -> None:
    choice: Any = {"type": "function", "function": {"name": "get_weather"}}
    sdk = client(gateway)
    if stream:
        chunks = list(sdk.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES, stream=True,
                                                  tools=[WEATHER_TOOL], tool_choice=choice))
        for chunk in chunks:
            assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
        deltas = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
        assert len(deltas) == 1, "each tool call is emitted once, complete"
        call = deltas[0]
        assert (call.index, call.id, call.type) == (0, "call_1", "function")
        assert call.function is not None
        assert (call.function.name, call.function.arguments) == ("get_weather", '{"city": "Paris"}')
        assert chunks[-1].choices[0].finish_reason == "tool_calls"
    else:
        completion = sdk.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES,
                                                 tools=[WEATHER_TOOL], tool_choice=choice)
        message = completion.choices[0].message
        assert message.tool_calls is not None
        tool_call = message.tool_calls[0]
        assert isinstance(tool_call, ChatCompletionMessageFunctionToolCall) and tool_call.function.name == "get_weather"
        assert completion.choices[0].finish_reason == "tool_calls"
    sent = fake_openai.last.body
    assert sent["tools"] == [WEATHER_TOOL] and sent["tool_choice"] == choice


def test_tool_results_round_trip(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    history: Any = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    ]
    client(gateway).chat.completions.create(model="openai/gpt-4o-mini", messages=history, tools=[WEATHER_TOOL])
    assert fake_openai.last.body["messages"] == history


@pytest.mark.parametrize("fmt", [
    {"type": "json_object"},
    {"type": "json_schema", "json_schema": {"name": "echo", "strict": True, "schema": {
        "type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"],
        "additionalProperties": False}}},
])
def test_response_format(gateway: RunningGateway, fake_openai: FakeOpenAI, fmt: Any) -> None:
    completion = client(gateway).chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES,
                                                         response_format=fmt)
    assert fake_openai.last.body["response_format"] == fmt
    assert orjson.loads(completion.choices[0].message.content or "") == {"echo": "hello there"}


def test_embeddings_default_base64_and_float(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    sdk = client(gateway)
    default = sdk.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b"])
    assert fake_openai.last.body["encoding_format"] == "float"
    assert default.data[0].embedding == pytest.approx(fake_vector("a", 8), rel=1e-6)
    assert default.data[1].embedding == pytest.approx(fake_vector("b", 8), rel=1e-6)
    floats = sdk.embeddings.create(model="openai/text-embedding-3-small", input="a", encoding_format="float",
                                   dimensions=4)
    assert floats.data[0].embedding == pytest.approx(fake_vector("a", 4), rel=1e-6)
    assert fake_openai.last.body["dimensions"] == 4
    raw = gateway.http.post("/v1/embeddings", json={"model": "openai/text-embedding-3-small", "input": ["a"],
                                                    "encoding_format": "base64"}).json()
    decoded = struct.unpack("<8f", base64.b64decode(raw["data"][0]["embedding"]))
    assert decoded == pytest.approx(fake_vector("a", 8), rel=1e-6)
    as_floats = {**raw, "data": [{**d, "embedding": list(decoded)} for d in raw["data"]]}
    assert_valid("CreateEmbeddingResponse", as_floats)
    assert_valid("CreateEmbeddingResponse", gateway.http.post("/v1/embeddings", json={
        "model": "openai/text-embedding-3-small", "input": "x"}).json())


def test_models_list_shows_configured_models(gateway_factory: Any, fake_openai: FakeOpenAI) -> None:
    config = """
models:
  - name: fast
    model: openai/gpt-4o-mini
    parameters: {model.temperature: 0.1}
providers:
  openai:
    models: [gpt-4o, text-embedding-3-small]
"""
    gw = gateway_factory(env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                         config=config)
    models = client(gw).models.list()
    assert [m.id for m in models.data] == ["fast", "openai/gpt-4o", "openai/text-embedding-3-small",
                                           "openai/gpt-4o-mini"]
    assert_valid("ListModelsResponse", gw.http.get("/v1/models").json())
    client(gw).chat.completions.create(model="fast", messages=MESSAGES)
    assert fake_openai.last.body["model"] == "gpt-4o-mini" and fake_openai.last.body["temperature"] == 0.1
    client(gw).chat.completions.create(model="fast", messages=MESSAGES, temperature=0.9)
    assert fake_openai.last.body["temperature"] == 0.9


@pytest.mark.parametrize(("scripted", "exception", "status"), [
    (openai_error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"),
     openai.AuthenticationError, 401),
    (openai_error(404, "The model does not exist", "invalid_request_error", "model_not_found"),
     openai.NotFoundError, 404),
    (openai_error(429, "Rate limit reached", "requests", "rate_limit_exceeded", {"retry-after": "3"}),
     openai.RateLimitError, 429),
    (openai_error(500, "The server had an error", "server_error"), openai.InternalServerError, 502),
    (openai_error(400, "Invalid 'messages'", "invalid_request_error"), openai.BadRequestError, 400),
])
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_errors_raise_the_matching_sdk_exception(gateway: RunningGateway, fake_openai: FakeOpenAI,
                                                          scripted: Scripted, exception: type[Exception],
                                                          status: int, stream: bool) -> None:
    fake_openai.enqueue(scripted)
    with pytest.raises(exception) as caught:
        client(gateway).chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES, stream=stream)
    error = caught.value
    assert isinstance(error, openai.APIStatusError) and error.status_code == status
    assert_valid("ErrorResponse", error.response.json())
    assert error.response.json()["error"]["message"].startswith("openai: ")
    if status == 429:
        assert error.response.headers["retry-after"] == "3"
    record = gateway.records()[0]
    assert (record["status"], record["http_status"], record["provider"]) == ("FAILED", status, "openai")


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "openai/gpt-4o-mini"}, "messages"),
    ({"model": "openai/gpt-4o-mini", "messages": []}, "messages"),
    ({"model": "openai/gpt-4o-mini", "messages": MESSAGES, "temperature": "hot"}, "temperature"),
    ({"model": "openai/gpt-4o-mini", "messages": MESSAGES, "n": 1000}, "n"),
    ({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi", "audio": {}}]},
     "messages[0].audio"),
])
def test_bad_bodies_are_400_envelopes_naming_the_field(gateway: RunningGateway, body: Any, param: str) -> None:
    response = gateway.http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert_valid("ErrorResponse", response.json())
    assert response.json()["error"]["param"] == param
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_malformed_json_and_unknown_model(gateway: RunningGateway) -> None:
    bad = gateway.http.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]["message"] == "The request body is not valid JSON."
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client(gateway).chat.completions.create(model="nosuchprovider/x", messages=MESSAGES)
    with pytest.raises(openai.NotFoundError):
        client(gateway).chat.completions.create(model="no-slash", messages=MESSAGES)
    missing = gateway.http.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"


def test_error_inside_the_stream_goes_out_in_band(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    from tests.fakes.openai_fake import chunk
    from tests.fakes.server import sse

    frames = sse([chunk({"role": "assistant", "content": "partial"}),
                  {"error": {"message": "upstream exploded", "type": "server_error"}}])
    fake_openai.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    payloads = sse_payloads(gateway, {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "stream": True})
    assert payloads[0]["choices"][0]["delta"]["content"] == "partial"
    assert payloads[-1]["error"]["message"] == "openai: upstream exploded"
    assert "[DONE]" not in payloads
    assert_valid("ErrorResponse", payloads[-1])
    fake_openai.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    with pytest.raises(openai.APIError, match="upstream exploded"):
        list(client(gateway).chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES, stream=True))


def test_request_id_is_honoured_or_generated(gateway: RunningGateway) -> None:
    mine = gateway.http.post("/v1/chat/completions", headers={"x-request-id": "client-abc-1"},
                             json={"model": "openai/gpt-4o-mini", "messages": MESSAGES})
    assert mine.headers["x-request-id"] == "client-abc-1"
    generated = gateway.http.get("/healthz")
    assert generated.headers["x-request-id"].startswith("req_")
    gateway.flush()
    record = gateway.http.get("/v1/activity/client-abc-1").json()
    assert record["status"] == "SUCCESS"
    assert {m["name"] for m in record["metrics"]} >= {"INPUT_TOKEN", "OUTPUT_TOKEN", "TOTAL_TOKEN", "TIME_TAKEN",
                                                      "STATUS", "LLM_REQUEST_ID"}
