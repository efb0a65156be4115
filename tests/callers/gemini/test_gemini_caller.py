"""The Gemini callers against the fake Gemini API over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
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
from gateway.callers.gemini import PROVIDERS
from gateway.core.messages import Message, SystemMessage, TextPart, ToolDefinition, UserMessage
from gateway.core.params import ModelParameters
from gateway.core.results import StreamEnd, StreamEvent, TextDelta, ToolCallEvent
from gateway.errors import (
    AuthenticationError,
    RateLimitError,
    ServiceUnavailableError,
    UpstreamError,
)
from tests.fakes.gemini_fake import (
    VALID_KEY,
    FakeGemini,
    candidate,
    function_call,
    google_error,
    response,
    stream_answer,
    text_stream,
    usage,
)
from tests.fakes.server import sse

SPEC = PROVIDERS[0]
MESSAGES: list[Message] = [SystemMessage("Be brief."), UserMessage((TextPart("hello world"),))]
WEATHER = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})
RETRY_INFO = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "31s"}


def dotted(values: dict[str, Any]) -> dict[str, Any]:
    """Dotted parameter names to pass as ``**kwargs``; typed ``Any`` so mypy does not check them against the
    helpers' named arguments."""
    return values


def context(http: httpx.AsyncClient, fake: FakeGemini, key: str = VALID_KEY) -> CallerContext:
    return CallerContext("gemini", http, Credential({"key": key, "base_url": fake.url}))


def chat_options(tools: tuple[ToolDefinition, ...] = (), hooks: list[Mapping[str, Any]] | None = None,
                 **params: Any) -> ChatCompletionOptions:
    sink = hooks if hooks is not None else []
    return ChatCompletionOptions(RequestContext("req_1"),
                                 ModelParameters({"model.name": "gemini-2.5-flash", **params}),
                                 pre_hook=sink.append, post_hook=sink.append, tool_definitions=tools)


async def collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in stream]


async def test_chat_sends_the_translated_body_and_parses_the_answer(http: httpx.AsyncClient,
                                                                    fake_gemini: FakeGemini) -> None:
    hooks: list[Mapping[str, Any]] = []
    caller = SPEC.llm(context(http, fake_gemini))  # type: ignore[misc]
    result = await caller.get_chat_completion(MESSAGES, chat_options(hooks=hooks, **dotted({
        "model.max_completion_tokens": 50, "model.temperature": 0.2, "model.stop": ["END"]})))
    sent = fake_gemini.last
    assert (sent.method, sent.path) == ("POST", "/v1beta/models/gemini-2.5-flash:generateContent")
    assert sent.headers["x-goog-api-key"] == VALID_KEY and "authorization" not in sent.headers
    assert sent.body == {
        "contents": [{"role": "user", "parts": [{"text": "hello world"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.2, "maxOutputTokens": 50, "stopSequences": ["END"]},
    }
    assert result.choices[0].content == "echo: hello world" and result.choices[0].finish_reason == "stop"
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total) == (9, 5, 14)
    assert hooks[0] == sent.body and hooks[1]["responseId"] == "resp-1"


async def test_chat_with_a_forced_tool_returns_the_call(http: httpx.AsyncClient, fake_gemini: FakeGemini) -> None:
    caller = SPEC.llm(context(http, fake_gemini))  # type: ignore[misc]
    result = await caller.get_chat_completion(MESSAGES, chat_options(
        (WEATHER,), **dotted({"model.tool_choice": {"type": "function", "function": {"name": "get_weather"}}})))
    sent = fake_gemini.last.body
    assert sent["tools"] == [{"functionDeclarations": [{"name": "get_weather", "description": "Weather",
                                                         "parameters": WEATHER.parameters}]}]
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.content is None
    assert [(c.id, c.name, c.arguments) for c in choice.tool_calls] == [("call_0", "get_weather", '{"city":"Paris"}')]


async def test_stream_yields_one_delta_per_chunk_then_one_end_with_usage(http: httpx.AsyncClient,
                                                                        fake_gemini: FakeGemini) -> None:
    fake_gemini.enqueue(stream_answer(text_stream(["Hel", "lo", "!"])))
    caller = SPEC.llm(context(http, fake_gemini))  # type: ignore[misc]
    events = await collect(caller.stream_chat_completion(MESSAGES, chat_options()))
    sent = fake_gemini.last
    assert sent.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent" and sent.query == {"alt": "sse"}
    assert sent.headers["x-goog-api-key"] == VALID_KEY
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo", "!"]
    ends = [e for e in events if isinstance(e, StreamEnd)]
    assert len(ends) == 1 and events[-1] is ends[0]
    assert ends[0].result.choices[0].content == "Hello!" and ends[0].result.choices[0].finish_reason == "stop"
    assert (ends[0].result.usage.input_tokens, ends[0].result.usage.output_tokens) == (9, 3)


async def test_stream_tool_calls_are_emitted_once_each_with_stable_positions(http: httpx.AsyncClient,
                                                                             fake_gemini: FakeGemini) -> None:
    frames = sse([
        response(candidate([{"text": "Checking."}], None), usage_metadata=usage(9, 1)),
        response(candidate([function_call("get_weather", {"city": "Paris"}, "c2ln"),
                            function_call("get_weather", {"city": "Rome"})], None), usage_metadata=usage(9, 6)),
        response(candidate([], "STOP"), usage_metadata=usage(9, 12, thoughts=4)),
    ])
    fake_gemini.enqueue(stream_answer(frames))
    caller = SPEC.llm(context(http, fake_gemini))  # type: ignore[misc]
    events = await collect(caller.stream_chat_completion(MESSAGES, chat_options((WEATHER,))))
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.position, c.tool_call.id, c.tool_call.arguments) for c in calls] == [
        (0, "call_0__thought__c2ln", '{"city":"Paris"}'), (1, "call_1", '{"city":"Rome"}')]
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.result.choices[0].finish_reason == "tool_calls" and len(end.result.choices[0].tool_calls) == 2
    assert (end.result.usage.output_tokens, end.result.usage.reasoning_tokens) == (16, 4)


async def test_an_error_event_inside_the_stream_raises_by_its_code(http: httpx.AsyncClient,
                                                                  fake_gemini: FakeGemini) -> None:
    frames = sse([response(candidate([{"text": "par"}], None)),
                  {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}])
    fake_gemini.enqueue(stream_answer(frames))
    caller = SPEC.llm(context(http, fake_gemini))  # type: ignore[misc]
    received: list[StreamEvent] = []
    with pytest.raises(ServiceUnavailableError, match="overloaded") as caught:
        async for event in caller.stream_chat_completion(MESSAGES, chat_options()):
            received.append(event)
    assert caught.value.code == "UNAVAILABLE"
    assert [e.text for e in received if isinstance(e, TextDelta)] == ["par"]


async def test_a_stream_without_a_finish_reason_is_truncated(http: httpx.AsyncClient,
                                                             fake_gemini: FakeGemini) -> None:
    fake_gemini.enqueue(stream_answer(text_stream(["half", "way"], finish=False)))
    caller = SPEC.llm(context(http, fake_gemini))  # type: ignore[misc]
    with pytest.raises(UpstreamError) as caught:
        await collect(caller.stream_chat_completion(MESSAGES, chat_options()))
    assert caught.value.code == "upstream_stream_truncated"


@pytest.mark.parametrize(("headers", "expected"), [({}, 31), ({"retry-after": "7"}, 7)])
async def test_rate_limit_keeps_status_and_retry_delay(http: httpx.AsyncClient, fake_gemini: FakeGemini,
                                                       headers: dict[str, str], expected: int) -> None:
    fake_gemini.enqueue(google_error(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED",
                                     [RETRY_INFO], headers))
    caller = SPEC.llm(context(http, fake_gemini))  # type: ignore[misc]
    with pytest.raises(RateLimitError) as caught:
        await caller.get_chat_completion(MESSAGES, chat_options())
    assert caught.value.retry_after == expected and caught.value.code == "RESOURCE_EXHAUSTED"
    assert "Resource has been exhausted" in caught.value.message


@pytest.mark.parametrize("stream", [False, True])
async def test_a_bad_key_is_an_authentication_error(http: httpx.AsyncClient, fake_gemini: FakeGemini,
                                                    stream: bool) -> None:
    caller = SPEC.llm(context(http, fake_gemini, key="AIza-wrong"))  # type: ignore[misc]
    with pytest.raises(AuthenticationError) as caught:
        if stream:
            await collect(caller.stream_chat_completion(MESSAGES, chat_options()))
        else:
            await caller.get_chat_completion(MESSAGES, chat_options())
    assert caught.value.status == 401 and "API key not valid" in caught.value.message


async def test_a_server_error_is_a_502(http: httpx.AsyncClient, fake_gemini: FakeGemini) -> None:
    fake_gemini.enqueue(google_error(500, "An internal error has occurred.", "INTERNAL"))
    caller = SPEC.llm(context(http, fake_gemini))  # type: ignore[misc]
    with pytest.raises(UpstreamError) as caught:
        await caller.get_chat_completion(MESSAGES, chat_options())
    assert caught.value.status == 502 and caught.value.code == "INTERNAL"


async def test_embeddings_send_one_request_per_input(http: httpx.AsyncClient, fake_gemini: FakeGemini) -> None:
    caller = SPEC.embedding(context(http, fake_gemini))  # type: ignore[misc]
    params = {"model.name": "gemini-embedding-001", "model.dimensions": 4, "model.input_type": "search_document"}
    result = await caller.get_embedding(["a", "b c"], EmbeddingOptions(RequestContext("r"), ModelParameters(params)))
    sent = fake_gemini.last
    assert sent.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert sent.headers["x-goog-api-key"] == VALID_KEY
    assert sent.body == {"requests": [
        {"model": "models/gemini-embedding-001", "outputDimensionality": 4, "taskType": "RETRIEVAL_DOCUMENT",
         "content": {"parts": [{"text": text}]}} for text in ("a", "b c")]}
    assert [e.index for e in result.embeddings] == [0, 1] and len(result.embeddings[1].vector) == 4
    assert result.usage.input_tokens is None, "batchEmbedContents reports no token counts; none are invented"


async def test_verify_uses_the_free_models_list(http: httpx.AsyncClient, fake_gemini: FakeGemini) -> None:
    options = CredentialVerifierOptions(RequestContext("r"))
    good = await SPEC.verifier(context(http, fake_gemini)).verify_credential(options)  # type: ignore[misc]
    bad = await SPEC.verifier(context(http, fake_gemini, "AIza-wrong")).verify_credential(options)  # type: ignore[misc]
    assert good.valid and not bad.valid
    assert "API key not valid" in bad.detail
    assert [(r.method, r.path, r.query) for r in fake_gemini.requests] == [
        ("GET", "/v1beta/models", {"pageSize": "1"})] * 2


async def test_verify_raises_when_the_provider_is_down(http: httpx.AsyncClient, fake_gemini: FakeGemini) -> None:
    fake_gemini.enqueue(google_error(500, "An internal error has occurred.", "INTERNAL"))
    with pytest.raises(UpstreamError):
        await SPEC.verifier(context(http, fake_gemini)).verify_credential(  # type: ignore[misc]
            CredentialVerifierOptions(RequestContext("r")))
