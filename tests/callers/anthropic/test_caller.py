"""The Anthropic caller and verifier against the fake Anthropic API over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.callers.anthropic import PROVIDERS
from gateway.callers.anthropic.request import DEFAULT_MAX_TOKENS
from gateway.callers.base import (
    CallerContext,
    ChatCompletionOptions,
    Credential,
    CredentialVerifierOptions,
    LargeLanguageCaller,
    RequestContext,
    Verifier,
)
from gateway.core.messages import Message, SystemMessage, TextPart, ToolDefinition, UserMessage
from gateway.core.params import ModelParameters
from gateway.core.results import StreamEnd, StreamEvent, TextDelta, ToolCallEvent
from gateway.errors import (
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    ServiceUnavailableError,
    UpstreamError,
)
from tests.fakes.anthropic_fake import (
    MODEL,
    VALID_KEY,
    FakeAnthropic,
    anthropic_error,
    stream_frames,
    streamed,
    text_block_events,
    text_stream,
    tool_block_events,
)
from tests.fakes.server import sse

SPEC = PROVIDERS[0]
MESSAGES: list[Message] = [SystemMessage("be brief"), UserMessage((TextPart("hello world"),))]
WEATHER = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})


def context(http: httpx.AsyncClient, fake: FakeAnthropic, key: str = VALID_KEY) -> CallerContext:
    return CallerContext("anthropic", http, Credential({"key": key, "base_url": fake.url}))


def llm(http: httpx.AsyncClient, fake: FakeAnthropic, key: str = VALID_KEY) -> LargeLanguageCaller:
    assert SPEC.llm is not None
    return SPEC.llm(context(http, fake, key))


def verifier(http: httpx.AsyncClient, fake: FakeAnthropic, key: str) -> Verifier:
    assert SPEC.verifier is not None
    return SPEC.verifier(context(http, fake, key))


def options(tools: tuple[ToolDefinition, ...] = (), hooks: list[Any] | None = None,
            params: dict[str, Any] | None = None) -> ChatCompletionOptions:
    sink = hooks if hooks is not None else []
    return ChatCompletionOptions(RequestContext("req_1"), ModelParameters({"model.name": MODEL, **(params or {})}),
                                 pre_hook=lambda b: sink.append(("before", b)),
                                 post_hook=lambda b: sink.append(("after", b)), tool_definitions=tools)


async def collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in stream]


def test_spec_declares_the_capabilities_and_credentials() -> None:
    assert SPEC.name == "anthropic"
    assert SPEC.capabilities.as_dict() == {"chat": True, "stream": True, "tools": True, "embeddings": False,
                                           "rerank": False, "verify": True}
    assert SPEC.credential_env == {"key": "ANTHROPIC_API_KEY", "base_url": "ANTHROPIC_BASE_URL"}


async def test_chat_sends_the_translated_body_with_auth_headers(http: httpx.AsyncClient,
                                                                fake_anthropic: FakeAnthropic) -> None:
    hooks: list[Any] = []
    result = await llm(http, fake_anthropic).get_chat_completion(MESSAGES, options(hooks=hooks, params={
        "model.temperature": 0.2, "model.stop": ["END"]}))
    sent = fake_anthropic.last
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.headers["x-api-key"] == VALID_KEY and sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.body == {"model": MODEL, "max_tokens": DEFAULT_MAX_TOKENS, "temperature": 0.2,
                         "stop_sequences": ["END"], "system": [{"type": "text", "text": "be brief"}],
                         "messages": [{"role": "user", "content": [{"type": "text", "text": "hello world"}]}]}
    assert [kind for kind, _ in hooks] == ["before", "after"] and hooks[0][1] == sent.body
    choice = result.choices[0]
    assert (choice.content, choice.finish_reason) == ("echo: hello world", "stop")
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total) == (16, 7, 23)
    assert result.usage.cached_input_tokens == 3 and result.model == MODEL


async def test_chat_named_tool_and_json_schema(http: httpx.AsyncClient, fake_anthropic: FakeAnthropic) -> None:
    result = await llm(http, fake_anthropic).get_chat_completion(MESSAGES, options((WEATHER,), params={
        "model.tool_choice": {"type": "function", "function": {"name": "get_weather"}}}))
    assert fake_anthropic.last.body["tool_choice"] == {"type": "tool", "name": "get_weather"}
    assert fake_anthropic.last.body["tools"][0]["input_schema"] == WEATHER.parameters
    call = result.choices[0].tool_calls[0]
    assert (call.id, call.name, call.arguments, result.choices[0].finish_reason) == (
        "toolu_01", "get_weather", '{"city":"Paris"}', "tool_calls")
    fmt = {"type": "json_schema", "json_schema": {"name": "e", "schema": {"type": "object"}}}
    caller = llm(http, fake_anthropic)
    result = await caller.get_chat_completion(MESSAGES, options(params={"model.response_format": fmt}))
    expected = {"format": {"type": "json_schema", "schema": {"type": "object"}}}
    assert fake_anthropic.last.body["output_config"] == expected
    assert result.choices[0].content == '{"echo": "hello world"}'


async def test_stream_yields_deltas_then_one_end_with_usage(http: httpx.AsyncClient,
                                                            fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(streamed(text_stream(["Hel", "lo", "!"], output_tokens=3)))
    events = await collect(llm(http, fake_anthropic).stream_chat_completion(MESSAGES, options()))
    assert fake_anthropic.last.body["stream"] is True
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo", "!"]
    ends = [e for e in events if isinstance(e, StreamEnd)]
    assert len(ends) == 1 and events[-1] is ends[0]
    result = ends[0].result
    assert (result.choices[0].content, result.choices[0].finish_reason) == ("Hello!", "stop")
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.cached_input_tokens) == (16, 3, 3)


async def test_stream_tool_calls_once_each_and_complete(http: httpx.AsyncClient,
                                                        fake_anthropic: FakeAnthropic) -> None:
    blocks = [*text_block_events(0, ["Let me check."]),
              *tool_block_events(1, "toolu_a", "get_weather", ['{"city"', ': "Paris"}']),
              *tool_block_events(2, "toolu_b", "get_weather", ['{"city": "Rome"}'])]
    fake_anthropic.enqueue(streamed(stream_frames(blocks, "tool_use")))
    events = await collect(llm(http, fake_anthropic).stream_chat_completion(MESSAGES, options((WEATHER,))))
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.position, c.tool_call.id, c.tool_call.name, c.tool_call.arguments) for c in calls] == [
        (0, "toolu_a", "get_weather", '{"city": "Paris"}'), (1, "toolu_b", "get_weather", '{"city": "Rome"}')]
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.result.choices[0].finish_reason == "tool_calls" and len(end.result.choices[0].tool_calls) == 2
    assert end.result.choices[0].content == "Let me check."


async def test_text_deltas_arrive_before_the_stream_ends(http: httpx.AsyncClient,
                                                         fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(streamed(text_stream(["a", "b", "c", "d"]), gap=0.05))
    stream = llm(http, fake_anthropic).stream_chat_completion(MESSAGES, options())
    first = await anext(aiter(stream))
    assert isinstance(first, TextDelta) and first.text == "a"
    assert fake_anthropic.closed_streams == 0
    await stream.aclose()


async def test_an_error_event_inside_the_stream_raises_mapped(http: httpx.AsyncClient,
                                                              fake_anthropic: FakeAnthropic) -> None:
    frames = stream_frames(text_block_events(0, ["par"]), end=False) + sse(
        [("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})], named=True)
    fake_anthropic.enqueue(streamed(frames))
    received: list[StreamEvent] = []
    with pytest.raises(ServiceUnavailableError, match="Overloaded") as caught:
        async for event in llm(http, fake_anthropic).stream_chat_completion(MESSAGES, options()):
            received.append(event)
    assert caught.value.code == "overloaded_error"
    assert [e.text for e in received if isinstance(e, TextDelta)] == ["par"]
    assert not any(isinstance(e, StreamEnd) for e in received)


async def test_a_stream_without_message_stop_is_truncated(http: httpx.AsyncClient,
                                                          fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(streamed(text_stream(["half"], end=False)))
    with pytest.raises(UpstreamError) as caught:
        await collect(llm(http, fake_anthropic).stream_chat_completion(MESSAGES, options()))
    assert caught.value.code == "upstream_stream_truncated"


async def test_rate_limit_keeps_status_message_and_retry_after(http: httpx.AsyncClient,
                                                               fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(anthropic_error(429, "rate_limit_error", "Number of requests exceeded",
                                           {"retry-after": "7"}))
    with pytest.raises(RateLimitError) as caught:
        await llm(http, fake_anthropic).get_chat_completion(MESSAGES, options())
    error = caught.value
    assert (error.status, error.code, error.retry_after) == (429, "rate_limit_error", 7.0)
    assert error.message == "anthropic: Number of requests exceeded"


@pytest.mark.parametrize("stream", [False, True])
async def test_http_errors_are_mapped_for_chat_and_stream(http: httpx.AsyncClient, fake_anthropic: FakeAnthropic,
                                                          stream: bool) -> None:
    caller = llm(http, fake_anthropic, key="sk-ant-wrong")

    async def call() -> None:
        if stream:
            await collect(caller.stream_chat_completion(MESSAGES, options()))
        else:
            await caller.get_chat_completion(MESSAGES, options())

    with pytest.raises(AuthenticationError, match="invalid x-api-key"):
        await call()
    fake_anthropic.enqueue(anthropic_error(500, "api_error", "Internal server error"))
    with pytest.raises(UpstreamError) as caught:
        await call()
    assert (caught.value.status, caught.value.code) == (502, "api_error")
    fake_anthropic.enqueue(anthropic_error(529, "overloaded_error", "Overloaded"))
    with pytest.raises(ServiceUnavailableError):
        await call()


async def test_invalid_tool_arguments_never_reach_the_wire(http: httpx.AsyncClient,
                                                           fake_anthropic: FakeAnthropic) -> None:
    from gateway.core.messages import AssistantMessage, ToolCall

    history: list[Message] = [UserMessage((TextPart("q"),)),
                              AssistantMessage(None, (ToolCall("toolu_x", "get_weather", "{oops"),))]
    with pytest.raises(InvalidRequestError):
        await llm(http, fake_anthropic).get_chat_completion(history, options((WEATHER,)))
    assert fake_anthropic.requests == []


async def test_verify_lists_models_and_reports_invalid_keys(http: httpx.AsyncClient,
                                                            fake_anthropic: FakeAnthropic) -> None:
    good = await verifier(http, fake_anthropic, VALID_KEY).verify_credential(CredentialVerifierOptions(
        RequestContext("r")))
    assert good.valid
    sent = fake_anthropic.last
    assert (sent.method, sent.path, sent.headers["x-api-key"]) == ("GET", "/v1/models", VALID_KEY)
    assert sent.headers["anthropic-version"] == "2023-06-01"
    bad = await verifier(http, fake_anthropic, "sk-ant-nope").verify_credential(CredentialVerifierOptions(
        RequestContext("r")))
    assert not bad.valid and "invalid x-api-key" in bad.detail and "sk-ant-nope" not in bad.detail
    fake_anthropic.enqueue(anthropic_error(500, "api_error", "down"))
    with pytest.raises(UpstreamError):
        await verifier(http, fake_anthropic, VALID_KEY).verify_credential(CredentialVerifierOptions(
            RequestContext("r")))
