"""The Cohere callers against the fake Cohere server over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.callers.base import (
    ChatCompletionOptions,
    CredentialVerifierOptions,
    EmbeddingOptions,
    LargeLanguageCaller,
    RequestContext,
    RerankerOptions,
)
from gateway.callers.cohere import PROVIDERS
from gateway.core.messages import Message, SystemMessage, TextPart, ToolDefinition, UserMessage
from gateway.core.params import ModelParameters
from gateway.core.results import StreamEnd, StreamEvent, TextDelta, ToolCallEvent
from gateway.errors import AuthenticationError, RateLimitError, ServiceUnavailableError, UpstreamError
from tests.callers.cohere.support import context
from tests.fakes.cohere_fake import VALID_KEY, FakeCohere, cohere_error, message_end, stream, text_events
from tests.fakes.server import Scripted

SPEC = PROVIDERS[0]
MESSAGES: list[Message] = [SystemMessage("Be brief."), UserMessage((TextPart("hello world"),))]
WEATHER = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})


def chat_options(tools: tuple[ToolDefinition, ...] = (), **params: Any) -> ChatCompletionOptions:
    parameters = ModelParameters({"model.name": "command-a-03-2025", **params})
    return ChatCompletionOptions(RequestContext("req_1"), parameters, tool_definitions=tools)


def llm(http: httpx.AsyncClient, fake: FakeCohere, key: str = VALID_KEY) -> LargeLanguageCaller:
    assert SPEC.llm is not None
    return SPEC.llm(context(http, fake, key))


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


async def test_chat_sends_the_v2_body_and_parses_the_answer(http: httpx.AsyncClient, fake_cohere: FakeCohere) -> None:
    seen: list[dict[str, Any]] = []
    opts = ChatCompletionOptions(RequestContext("req_1"), ModelParameters({
        "model.name": "command-a-03-2025", "model.max_completion_tokens": 50, "model.stop": ["END"],
        "model.response_format": {"type": "json_object"}}), pre_hook=lambda b: seen.append(dict(b)))
    result = await llm(http, fake_cohere).get_chat_completion(MESSAGES, opts)
    sent = fake_cohere.last
    assert (sent.method, sent.path) == ("POST", "/v2/chat")
    assert sent.headers["authorization"] == f"Bearer {VALID_KEY}"
    assert sent.body == {"model": "command-a-03-2025", "stream": False, "max_tokens": 50, "stop_sequences": ["END"],
                         "response_format": {"type": "json_object"},
                         "messages": [{"role": "system", "content": "Be brief."},
                                      {"role": "user", "content": "hello world"}]}
    assert seen == [sent.body]
    assert result.choices[0].content == "echo: hello world"
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total) == (21, 4, 25)


async def test_chat_with_required_tool_returns_the_call(http: httpx.AsyncClient, fake_cohere: FakeCohere) -> None:
    result = await llm(http, fake_cohere).get_chat_completion(
        MESSAGES, chat_options((WEATHER,), **{"model.tool_choice": "required"}))
    assert fake_cohere.last.body["tool_choice"] == "REQUIRED"
    assert fake_cohere.last.body["tools"][0]["function"]["name"] == "get_weather"
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in choice.tool_calls] == [("call_co_1", "get_weather",
                                                                          '{"city": "Paris"}')]


async def test_stream_yields_deltas_as_they_arrive_then_one_end(http: httpx.AsyncClient,
                                                                fake_cohere: FakeCohere) -> None:
    fake_cohere.enqueue(stream(text_events(["Hel", "lo", "!"]), gap=0.01))
    events = await collect(llm(http, fake_cohere).stream_chat_completion(MESSAGES, chat_options()))
    assert fake_cohere.last.body["stream"] is True
    assert fake_cohere.last.headers["accept"] == "text/event-stream"
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo", "!"]
    ends = [e for e in events if isinstance(e, StreamEnd)]
    assert len(ends) == 1 and events[-1] is ends[0]
    assert ends[0].result.choices[0].content == "Hello!"
    assert (ends[0].result.usage.input_tokens, ends[0].result.usage.output_tokens) == (21, 4)
    assert fake_cohere.closed_streams == 1


async def test_stream_tool_calls_once_each_with_positions(http: httpx.AsyncClient, fake_cohere: FakeCohere) -> None:
    events = await collect(llm(http, fake_cohere).stream_chat_completion(
        MESSAGES, chat_options((WEATHER,), **{"model.tool_choice": "required"})))
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.position, c.tool_call.id, c.tool_call.name, c.tool_call.arguments) for c in calls] == [
        (0, "call_co_1", "get_weather", '{"city": "Paris"}')]
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.result.choices[0].finish_reason == "tool_calls"
    assert end.result.usage.input_tokens == 21


async def test_stream_without_message_end_is_truncated(http: httpx.AsyncClient, fake_cohere: FakeCohere) -> None:
    fake_cohere.enqueue(stream(text_events(["partial"], end=False)))
    with pytest.raises(UpstreamError) as caught:
        await collect(llm(http, fake_cohere).stream_chat_completion(MESSAGES, chat_options()))
    assert caught.value.code == "upstream_stream_truncated"


async def test_stream_error_event_raises(http: httpx.AsyncClient, fake_cohere: FakeCohere) -> None:
    fake_cohere.enqueue(stream([*text_events(["x"], end=False), message_end("ERROR", error="model overloaded")]))
    with pytest.raises(UpstreamError) as caught:
        await collect(llm(http, fake_cohere).stream_chat_completion(MESSAGES, chat_options()))
    assert "model overloaded" in caught.value.message


@pytest.mark.parametrize("stream_mode", [False, True])
async def test_upstream_errors_are_mapped(http: httpx.AsyncClient, fake_cohere: FakeCohere,
                                          stream_mode: bool) -> None:
    caller = llm(http, fake_cohere)

    async def call() -> None:
        if stream_mode:
            await collect(caller.stream_chat_completion(MESSAGES, chat_options()))
        else:
            await caller.get_chat_completion(MESSAGES, chat_options())

    fake_cohere.enqueue(cohere_error(429, "You are past the per minute request limit", {"retry-after": "7"}))
    with pytest.raises(RateLimitError) as limited:
        await call()
    assert limited.value.retry_after == 7 and "per minute request limit" in limited.value.message
    fake_cohere.enqueue(cohere_error(500, "internal server error"))
    with pytest.raises(UpstreamError) as failed:
        await call()
    assert failed.value.status == 502
    with pytest.raises(AuthenticationError) as denied:
        await (collect(llm(http, fake_cohere, "bad").stream_chat_completion(MESSAGES, chat_options()))
               if stream_mode else llm(http, fake_cohere, "bad").get_chat_completion(MESSAGES, chat_options()))
    assert "invalid api token" in denied.value.message


async def test_embeddings(http: httpx.AsyncClient, fake_cohere: FakeCohere) -> None:
    assert SPEC.embedding is not None
    caller = SPEC.embedding(context(http, fake_cohere))
    opts = EmbeddingOptions(RequestContext("req_1"), ModelParameters({
        "model.name": "embed-v4.0", "model.dimensions": 4, "model.input_type": "search_query"}))
    result = await caller.get_embedding(["one two", "three"], opts)
    assert fake_cohere.last.path == "/v2/embed"
    assert fake_cohere.last.body == {"model": "embed-v4.0", "texts": ["one two", "three"],
                                     "input_type": "search_query", "embedding_types": ["float"],
                                     "output_dimension": 4}
    assert [e.index for e in result.embeddings] == [0, 1]
    assert all(len(e.vector) == 4 for e in result.embeddings)
    assert (result.usage.input_tokens, result.usage.total) == (3, 3)


async def test_rerank_keeps_indexes_into_the_documents(http: httpx.AsyncClient, fake_cohere: FakeCohere) -> None:
    assert SPEC.reranking is not None
    caller = SPEC.reranking(context(http, fake_cohere))
    documents = ["bananas are yellow", "the capital of france is paris", "paris hilton", "cats"]
    opts = RerankerOptions(RequestContext("req_1"), ModelParameters({"model.name": "rerank-v3.5", "model.top_n": 2}))
    result = await caller.get_reranking("capital of france paris", documents, opts)
    assert fake_cohere.last.path == "/v2/rerank"
    assert fake_cohere.last.body == {"model": "rerank-v3.5", "query": "capital of france paris",
                                     "documents": documents, "top_n": 2}
    assert [r.index for r in result.results] == [1, 2]
    assert result.results[0].relevance_score > result.results[1].relevance_score
    assert result.usage.total is None


async def test_verify_lists_models(http: httpx.AsyncClient, fake_cohere: FakeCohere) -> None:
    assert SPEC.verifier is not None
    good = await SPEC.verifier(context(http, fake_cohere)).verify_credential(
        CredentialVerifierOptions(RequestContext("req_1")))
    assert good.valid
    assert (fake_cohere.last.method, fake_cohere.last.path) == ("GET", "/v1/models")
    bad = await SPEC.verifier(context(http, fake_cohere, "nope")).verify_credential(
        CredentialVerifierOptions(RequestContext("req_2")))
    assert not bad.valid and "invalid api token" in bad.detail
    assert "nope" not in bad.detail
    fake_cohere.enqueue(cohere_error(500, "boom"))
    with pytest.raises(UpstreamError):
        await SPEC.verifier(context(http, fake_cohere)).verify_credential(
            CredentialVerifierOptions(RequestContext("req_3")))


async def test_a_non_json_error_body_still_maps_by_status(http: httpx.AsyncClient, fake_cohere: FakeCohere) -> None:
    fake_cohere.enqueue(Scripted(status=503, raw=b"upstream unavailable", media_type="text/plain"))
    with pytest.raises(ServiceUnavailableError) as caught:
        await llm(http, fake_cohere).get_chat_completion(MESSAGES, chat_options())
    assert "upstream unavailable" in caught.value.message


async def test_deltas_arrive_before_the_stream_ends_and_early_close_releases_upstream(
        http: httpx.AsyncClient, fake_cohere: FakeCohere) -> None:
    fake_cohere.enqueue(stream(text_events(["a", "b", "c", "d"]), gap=0.15))
    started = time.monotonic()
    events = llm(http, fake_cohere).stream_chat_completion(MESSAGES, chat_options())
    first = await anext(aiter(events))
    assert isinstance(first, TextDelta) and first.text == "a"
    assert time.monotonic() - started < 0.6
    await events.aclose()
    for _ in range(100):
        if fake_cohere.closed_streams:
            break
        await asyncio.sleep(0.02)
    assert fake_cohere.closed_streams == 1
