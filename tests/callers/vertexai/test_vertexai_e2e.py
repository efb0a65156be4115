"""End to end: the official ``openai`` SDK -> the running gateway -> the fake Vertex AI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageFunctionToolCall

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.gemini_fake import candidate, function_call, google_error, response, stream_answer, usage
from tests.fakes.server import sse
from tests.fakes.vertexai_fake import PROJECT, FakeVertex
from tests.openapi import assert_valid

MODEL = "vertexai/gemini-2.5-flash"
MESSAGES: list[Any] = [{"role": "developer", "content": "be brief"}, {"role": "user", "content": "hello there"}]
WEATHER_TOOL: Any = {"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
MODEL_PATH = f"/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/gemini-2.5-flash"


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_vertex: FakeVertex, key_file: Path) -> RunningGateway:
    return gateway_factory(env={"GOOGLE_APPLICATION_CREDENTIALS": str(key_file), "VERTEXAI_PROJECT": PROJECT,
                                "VERTEXAI_LOCATION": "us-central1", "VERTEXAI_BASE_URL": fake_vertex.url})


def client(gw: RunningGateway) -> OpenAI:
    return OpenAI(base_url=gw.url + "/v1", api_key="anything", max_retries=0)


def record(gw: RunningGateway, request_id: str) -> dict[str, Any]:
    found = [r for r in gw.records() if r["request_id"] == request_id]
    assert len(found) == 1
    return found[0]


def test_chat_stream_and_records_share_one_token(gw: RunningGateway, fake_vertex: FakeVertex) -> None:
    sdk = client(gw)
    completion = sdk.chat.completions.create(model=MODEL, messages=MESSAGES, max_completion_tokens=30,
                                             extra_headers={"x-request-id": "v-chat"})
    sent = fake_vertex.last
    assert sent.path == MODEL_PATH + ":generateContent" and sent.headers["authorization"] == "Bearer ya29.fake-1"
    assert sent.body["systemInstruction"] == {"parts": [{"text": "be brief"}]}
    assert sent.body["generationConfig"] == {"maxOutputTokens": 30}
    assert completion.choices[0].message.content == "echo: hello there"
    chunks = list(sdk.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                              stream_options={"include_usage": True},
                                              extra_headers={"x-request-id": "v-stream"}))
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hello there"
    final = chunks[-1].usage
    assert final is not None and (final.prompt_tokens, final.completion_tokens) == (9, 3)
    assert len(fake_vertex.token_requests) == 1
    chat, stream = record(gw, "v-chat"), record(gw, "v-stream")
    assert (chat["provider"], chat["status"], chat["input_tokens"], chat["output_tokens"]) == (
        "vertexai", "SUCCESS", 9, 5)
    assert (stream["status"], stream["input_tokens"], stream["output_tokens"]) == ("SUCCESS", 9, 3)


def test_tool_calls_non_stream_and_stream(gw: RunningGateway, fake_vertex: FakeVertex) -> None:
    sdk = client(gw)
    completion = sdk.chat.completions.create(model=MODEL, messages=MESSAGES, tools=[WEATHER_TOOL],
                                             tool_choice="required")
    assert fake_vertex.last.body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    call = (completion.choices[0].message.tool_calls or [])[0]
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert (completion.choices[0].finish_reason, call.id, call.function.name) == ("tool_calls", "call_0", "get_weather")
    fake_vertex.enqueue(stream_answer(sse([
        response(candidate([function_call("get_weather", {"city": "Oslo"})], None), usage_metadata=usage(9, 4)),
        response(candidate([], "STOP"), usage_metadata=usage(9, 4))])))
    chunks = list(sdk.chat.completions.create(model=MODEL, messages=MESSAGES, tools=[WEATHER_TOOL], stream=True))
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
    deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or []]
    assert [(d.index, d.id, d.function.name if d.function else None) for d in deltas] == [(0, "call_0", "get_weather")]
    assert orjson.loads(deltas[0].function.arguments or "") == {"city": "Oslo"}  # type: ignore[union-attr]


def test_upstream_errors_raise_the_matching_sdk_exceptions(gw: RunningGateway, fake_vertex: FakeVertex) -> None:
    sdk = client(gw)
    fake_vertex.enqueue(google_error(429, "Quota exceeded.", "RESOURCE_EXHAUSTED",
                                     [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "9s"}]))
    with pytest.raises(openai.RateLimitError) as limited:
        sdk.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers={"x-request-id": "v-429"})
    assert limited.value.response.headers["retry-after"] == "9"
    fake_vertex.enqueue(google_error(500, "Internal error encountered.", "INTERNAL"))
    with pytest.raises(openai.InternalServerError) as failed:
        sdk.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert failed.value.status_code == 502
    fake_vertex.issued.clear()
    with pytest.raises(openai.AuthenticationError, match="invalid authentication credentials"):
        sdk.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert (record(gw, "v-429")["provider"], record(gw, "v-429")["http_status"]) == ("vertexai", 429)


def test_embeddings_and_verify(gw: RunningGateway, fake_vertex: FakeVertex,
                               make_key_text: Callable[[str], str]) -> None:
    embedded = client(gw).embeddings.create(model="vertexai/text-embedding-005", input=["a b", "c"], dimensions=4)
    assert [len(e.embedding) for e in embedded.data] == [4, 4]
    assert embedded.usage.prompt_tokens == 3
    good = gw.http.post("/v1/credentials/verify", json={"provider": "vertexai"}).json()
    assert good["valid"] is True
    bad = gw.http.post("/v1/credentials/verify", json={"provider": "vertexai", "credential": {
        "service_account_key": make_key_text(fake_vertex.url + "/token").replace("gateway-test@", "someone@"),
        "base_url": fake_vertex.url}}).json()
    assert bad["valid"] is False and "invalid_grant" in bad["message"]
