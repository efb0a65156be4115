"""The OpenAI caller against the fake OpenAI server over real HTTP on loopback."""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.callers.base import (
    CallerContext,
    ChatCompletionOptions,
    Credential,
    CredentialVerifierOptions,
    EmbeddingOptions,
    RequestContext,
)
from gateway.callers.openai import PROVIDERS
from gateway.core.messages import Message, TextPart, ToolDefinition, UserMessage
from gateway.core.params import ModelParameters
from gateway.core.results import StreamEnd, StreamEvent, TextDelta, ToolCallEvent
from gateway.errors import AuthenticationError, RateLimitError, UpstreamError
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, chunk, openai_error, text_stream, tool_call_stream
from tests.fakes.server import Scripted, sse

SPEC = PROVIDERS[0]
MESSAGES: list[Message] = [UserMessage((TextPart("hello world"),))]
WEATHER = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})


def dotted(values: dict[str, Any]) -> dict[str, Any]:
    """Dotted parameter names to pass as ``**kwargs``; typed ``Any`` so mypy does not check them against the
    helpers' named arguments."""
    return values


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def context(http: httpx.AsyncClient, fake: FakeOpenAI, key: str = VALID_KEY) -> CallerContext:
    return CallerContext("openai", http, Credential({"key": key, "base_url": fake.url + "/v1"}))


def chat_options(tools: tuple[ToolDefinition, ...] = (), **params: Any) -> ChatCompletionOptions:
    return ChatCompletionOptions(RequestContext("req_1"), ModelParameters({"model.name": "gpt-4o-mini", **params}),
                                 tool_definitions=tools)


async def collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in stream]


async def test_chat_sends_the_translated_body_and_parses_usage(http: httpx.AsyncClient,
                                                               fake_openai: FakeOpenAI) -> None:
    caller = SPEC.llm(context(http, fake_openai))  # type: ignore[misc]
    result = await caller.get_chat_completion(MESSAGES, chat_options(**dotted({
        "model.max_completion_tokens": 50, "model.temperature": 0.2, "model.stop": ["END"],
        "model.response_format": {"type": "json_object"}})))
    sent = fake_openai.last
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {VALID_KEY}"
    assert sent.body == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello world"}],
                         "temperature": 0.2, "max_completion_tokens": 50, "stop": ["END"],
                         "response_format": {"type": "json_object"}}
    assert result.choices[0].content == '{"echo": "hello world"}'
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total) == (11, 7, 18)
    assert (result.usage.cached_input_tokens, result.usage.reasoning_tokens) == (3, 2)


async def test_stream_asks_for_usage_and_yields_one_delta_per_chunk_then_one_end(
        http: httpx.AsyncClient, fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Scripted(stream=text_stream(["Hel", "lo", "!"]), media_type="text/event-stream"))
    caller = SPEC.llm(context(http, fake_openai))  # type: ignore[misc]
    events = await collect(caller.stream_chat_completion(MESSAGES, chat_options()))
    assert fake_openai.last.body["stream_options"] == {"include_usage": True}
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo", "!"]
    ends = [e for e in events if isinstance(e, StreamEnd)]
    assert len(ends) == 1 and events[-1] is ends[0]
    assert ends[0].result.choices[0].content == "Hello!"
    assert ends[0].result.usage.output_tokens == 3


async def test_stream_tool_calls_are_emitted_once_each_and_complete(http: httpx.AsyncClient,
                                                                   fake_openai: FakeOpenAI) -> None:
    frames = tool_call_stream([("call_a", "get_weather", ['{"city"', ': "Paris"}']),
                               ("call_b", "get_weather", ['{"city": "Rome"}'])])
    fake_openai.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    caller = SPEC.llm(context(http, fake_openai))  # type: ignore[misc]
    events = await collect(caller.stream_chat_completion(MESSAGES, chat_options((WEATHER,))))
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.position, c.tool_call.id, c.tool_call.name, c.tool_call.arguments) for c in calls] == [
        (0, "call_a", "get_weather", '{"city": "Paris"}'), (1, "call_b", "get_weather", '{"city": "Rome"}')]
    assert fake_openai.last.body["tools"][0]["function"]["name"] == "get_weather"
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.result.choices[0].finish_reason == "tool_calls"
    assert len(end.result.choices[0].tool_calls) == 2


async def test_an_error_event_inside_the_stream_raises(http: httpx.AsyncClient, fake_openai: FakeOpenAI) -> None:
    frames = sse([chunk({"content": "par"}), {"error": {"message": "model overloaded", "type": "server_error"}}])
    fake_openai.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    caller = SPEC.llm(context(http, fake_openai))  # type: ignore[misc]
    received: list[StreamEvent] = []
    with pytest.raises(UpstreamError, match="model overloaded"):
        async for event in caller.stream_chat_completion(MESSAGES, chat_options()):
            received.append(event)
    assert [e.text for e in received if isinstance(e, TextDelta)] == ["par"]


async def test_a_truncated_stream_raises_instead_of_succeeding(http: httpx.AsyncClient,
                                                               fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Scripted(stream=sse([chunk({"content": "half"})]), media_type="text/event-stream"))
    caller = SPEC.llm(context(http, fake_openai))  # type: ignore[misc]
    with pytest.raises(UpstreamError) as caught:
        await collect(caller.stream_chat_completion(MESSAGES, chat_options()))
    assert caught.value.code == "upstream_stream_truncated"


async def test_rate_limit_keeps_status_and_retry_after(http: httpx.AsyncClient, fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(openai_error(429, "Rate limit reached", "requests", "rate_limit_exceeded",
                                     {"retry-after": "7"}))
    caller = SPEC.llm(context(http, fake_openai))  # type: ignore[misc]
    with pytest.raises(RateLimitError) as caught:
        await caller.get_chat_completion(MESSAGES, chat_options())
    assert caught.value.retry_after == 7 and caught.value.code == "rate_limit_exceeded"
    assert "Rate limit reached" in caught.value.message


async def test_upstream_auth_failure_is_an_authentication_error(http: httpx.AsyncClient,
                                                                fake_openai: FakeOpenAI) -> None:
    caller = SPEC.llm(context(http, fake_openai, key="sk-bad"))  # type: ignore[misc]
    with pytest.raises(AuthenticationError):
        await caller.get_chat_completion(MESSAGES, chat_options())


@pytest.mark.parametrize("dimensions", [None, 4])
async def test_embeddings_request_floats_and_honour_dimensions(http: httpx.AsyncClient, fake_openai: FakeOpenAI,
                                                               dimensions: int | None) -> None:
    caller = SPEC.embedding(context(http, fake_openai))  # type: ignore[misc]
    params: dict[str, Any] = {"model.name": "text-embedding-3-small"}
    if dimensions:
        params["model.dimensions"] = dimensions
    result = await caller.get_embedding(["a", "b c"], EmbeddingOptions(RequestContext("r"), ModelParameters(params)))
    sent = fake_openai.last.body
    assert sent["encoding_format"] == "float" and sent.get("dimensions") == dimensions
    assert [e.index for e in result.embeddings] == [0, 1]
    assert len(result.embeddings[0].vector) == (dimensions or 8)
    assert result.usage.input_tokens == 3


async def test_base64_embeddings_from_a_server_are_decoded(http: httpx.AsyncClient, fake_openai: FakeOpenAI) -> None:
    packed = base64.b64encode(struct.pack("<3f", 0.5, -1.0, 2.0)).decode()
    fake_openai.enqueue(Scripted(json={"object": "list", "model": "m", "usage": {"prompt_tokens": 1, "total_tokens": 1},
                                       "data": [{"object": "embedding", "index": 0, "embedding": packed}]}))
    caller = SPEC.embedding(context(http, fake_openai))  # type: ignore[misc]
    result = await caller.get_embedding(["a"], EmbeddingOptions(RequestContext("r"),
                                                                ModelParameters({"model.name": "m"})))
    assert result.embeddings[0].vector == (0.5, -1.0, 2.0)


async def test_verify_uses_the_free_models_call(http: httpx.AsyncClient, fake_openai: FakeOpenAI) -> None:
    good = await SPEC.verifier(context(http, fake_openai)).verify_credential(  # type: ignore[misc]
        CredentialVerifierOptions(RequestContext("r")))
    bad = await SPEC.verifier(context(http, fake_openai, "sk-bad")).verify_credential(  # type: ignore[misc]
        CredentialVerifierOptions(RequestContext("r")))
    assert good.valid and not bad.valid
    assert [(r.method, r.path) for r in fake_openai.requests] == [("GET", "/v1/models")] * 2
    assert "Incorrect API key" in bad.detail
