"""The MiniMax caller against the fake MiniMax server over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from gateway.callers.base import (
    CallerContext,
    ChatCompletionOptions,
    Credential,
    CredentialVerifierOptions,
    RequestContext,
)
from gateway.callers.minimax import PROVIDERS
from gateway.core.messages import Message, TextPart, ToolCall, ToolDefinition, UserMessage
from gateway.core.params import ModelParameters
from gateway.core.results import ReasoningDelta, StreamEnd, StreamEvent, TextDelta, ToolCallEvent
from gateway.errors import (
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    ServiceUnavailableError,
    UpstreamError,
)
from tests.fakes.minimax_fake import (
    THINKING,
    VALID_KEY,
    FakeMiniMax,
    base_resp,
    delta_chunk,
    message,
    stream,
)
from tests.fakes.server import Scripted, sse

SPEC = PROVIDERS[0]
HELLO: list[Message] = [UserMessage((TextPart("hello there"),))]
WEATHER_Q: list[Message] = [UserMessage((TextPart("weather in Paris?"),))]
WEATHER = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})


def dotted(values: dict[str, Any]) -> dict[str, Any]:
    """Dotted parameter names to pass as ``**kwargs``; typed ``Any`` so mypy does not check them against the
    helpers' named arguments."""
    return values


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeMiniMax]:
    server = FakeMiniMax().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_log(fake: FakeMiniMax) -> None:
    fake.requests.clear()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def context(http: httpx.AsyncClient, fake: FakeMiniMax, key: str = VALID_KEY) -> CallerContext:
    return CallerContext("minimax", http, Credential({"key": key, "base_url": fake.url + "/v1"}))


def chat_options(tools: tuple[ToolDefinition, ...] = (), **params: Any) -> ChatCompletionOptions:
    return ChatCompletionOptions(RequestContext("req_1"), ModelParameters({"model.name": "MiniMax-M2", **params}),
                                 tool_definitions=tools)


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


async def test_chat_strips_think_into_reasoning_and_sends_minimax_fields(http: httpx.AsyncClient,
                                                                        fake: FakeMiniMax) -> None:
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    result = await caller.get_chat_completion(HELLO, chat_options(**dotted({
        "model.temperature": 0, "model.max_completion_tokens": 64, "model.stop": ["END"]})))
    sent = fake.last
    assert (sent.path, sent.headers["authorization"]) == ("/v1/chat/completions", f"Bearer {VALID_KEY}")
    assert sent.body == {"model": "MiniMax-M2", "messages": [{"role": "user", "content": "hello there"}],
                         "temperature": 0.01, "max_completion_tokens": 64, "stop": ["END"]}
    choice = result.choices[0]
    assert (choice.content, choice.reasoning) == ("echo: hello there", THINKING + "\n")
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens) == (14, 9, 5)


async def test_chat_with_reasoning_split(http: httpx.AsyncClient, fake: FakeMiniMax) -> None:
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    result = await caller.get_chat_completion(HELLO, chat_options(**dotted({"model.reasoning_split": True})))
    assert fake.last.body["reasoning_split"] is True
    assert (result.choices[0].content, result.choices[0].reasoning) == ("echo: hello there", THINKING)


async def test_non_stream_tool_calls(http: httpx.AsyncClient, fake: FakeMiniMax) -> None:
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    result = await caller.get_chat_completion(WEATHER_Q, chat_options((WEATHER,)))
    assert fake.last.body["tools"][0]["function"]["name"] == "get_weather"
    choice = result.choices[0]
    assert choice.tool_calls == (ToolCall("call_function_x1", "get_weather", '{"city": "Paris"}'),)
    assert (choice.content, choice.finish_reason) == (None, "tool_calls")


async def test_stream_routes_think_to_reasoning_deltas_and_takes_usage_from_the_last_event(
        http: httpx.AsyncClient, fake: FakeMiniMax) -> None:
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    events = await collect(caller.stream_chat_completion(HELLO, chat_options()))
    assert fake.last.body["stream"] is True and "stream_options" not in fake.last.body
    text = [e.text for e in events if isinstance(e, TextDelta)]
    assert text == ["echo: ", "hello ", "there"]
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == THINKING + "\n"
    ends = [e for e in events if isinstance(e, StreamEnd)]
    assert len(ends) == 1 and events[-1] is ends[0]
    result = ends[0].result
    assert result.choices[0].content == "echo: hello there"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (14, 9)


async def test_stream_with_reasoning_split(http: httpx.AsyncClient, fake: FakeMiniMax) -> None:
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    events = await collect(caller.stream_chat_completion(
        HELLO, chat_options(**dotted({"model.reasoning_split": True}))))
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["The user", " greets me."]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "echo: hello there"


async def test_stream_tool_call_is_emitted_once_complete(http: httpx.AsyncClient, fake: FakeMiniMax) -> None:
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    events = await collect(caller.stream_chat_completion(WEATHER_Q, chat_options((WEATHER,))))
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.position, c.tool_call) for c in calls] == [
        (0, ToolCall("call_function_x1", "get_weather", '{"city": "Paris"}'))]
    assert not [e for e in events if isinstance(e, TextDelta)]
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.result.choices[0].finish_reason == "tool_calls"


async def test_stream_without_done_marker_but_finished_is_complete(http: httpx.AsyncClient,
                                                                   fake: FakeMiniMax) -> None:
    fake.enqueue(Scripted(stream=stream([{"content": "Hi"}], message("Hi"), done=False),
                          media_type="text/event-stream"))
    events = await collect(SPEC.llm(context(http, fake)).stream_chat_completion(  # type: ignore[misc]
        HELLO, chat_options()))
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.result.choices[0].content == "Hi"


async def test_truncated_stream_raises(http: httpx.AsyncClient, fake: FakeMiniMax) -> None:
    fake.enqueue(Scripted(stream=sse([delta_chunk({"content": "Hi"})]), media_type="text/event-stream"))
    with pytest.raises(UpstreamError) as caught:
        await collect(SPEC.llm(context(http, fake)).stream_chat_completion(  # type: ignore[misc]
            HELLO, chat_options()))
    assert caught.value.code == "upstream_stream_truncated"


async def test_error_event_inside_the_stream_raises(http: httpx.AsyncClient, fake: FakeMiniMax) -> None:
    frames = sse([delta_chunk({"content": "Hi"}), {"base_resp": {"status_code": 1024, "status_msg": "internal"}}])
    fake.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    received: list[StreamEvent] = []
    with pytest.raises(UpstreamError, match="internal"):
        async for event in SPEC.llm(context(http, fake)).stream_chat_completion(  # type: ignore[misc]
                HELLO, chat_options()):
            received.append(event)
    assert [e.text for e in received if isinstance(e, TextDelta)] == ["Hi"]


async def test_http_200_base_resp_errors_are_errors(http: httpx.AsyncClient, fake: FakeMiniMax) -> None:
    with pytest.raises(AuthenticationError, match="login fail"):
        await SPEC.llm(context(http, fake, "wrong")).get_chat_completion(  # type: ignore[misc]
            HELLO, chat_options())
    with pytest.raises(AuthenticationError):
        await collect(SPEC.llm(context(http, fake, "wrong")).stream_chat_completion(  # type: ignore[misc]
            HELLO, chat_options()))
    fake.enqueue(base_resp(1002, "rate limit"))
    with pytest.raises(RateLimitError) as caught:
        await SPEC.llm(context(http, fake)).get_chat_completion(HELLO, chat_options())  # type: ignore[misc]
    assert caught.value.code == "rate_limit_exceeded"


async def test_http_errors_keep_status_message_and_retry_after(http: httpx.AsyncClient, fake: FakeMiniMax) -> None:
    fake.enqueue(Scripted(status=429, headers={"retry-after": "9"},
                          json={"error": {"type": "rate_limit_error", "message": "too many requests"}}))
    with pytest.raises(RateLimitError) as limited:
        await SPEC.llm(context(http, fake)).get_chat_completion(HELLO, chat_options())  # type: ignore[misc]
    assert limited.value.retry_after == 9 and "too many requests" in limited.value.message
    fake.enqueue(base_resp(2013, "invalid params, tools", status=400))
    with pytest.raises(InvalidRequestError, match="invalid params") as invalid:
        await SPEC.llm(context(http, fake)).get_chat_completion(HELLO, chat_options())  # type: ignore[misc]
    assert invalid.value.code == "invalid_request"
    fake.enqueue(Scripted(status=500, json={"base_resp": {"status_code": 1000, "status_msg": "unknown error"}}))
    with pytest.raises(UpstreamError) as failed:
        await collect(SPEC.llm(context(http, fake)).stream_chat_completion(  # type: ignore[misc]
            HELLO, chat_options()))
    assert failed.value.status == 502 and "unknown error" in failed.value.message


async def test_verify_uses_the_free_models_call(http: httpx.AsyncClient, fake: FakeMiniMax) -> None:
    options = CredentialVerifierOptions(RequestContext("r"))
    good = await SPEC.verifier(context(http, fake)).verify_credential(options)  # type: ignore[misc]
    bad = await SPEC.verifier(context(http, fake, "wrong")).verify_credential(options)  # type: ignore[misc]
    assert good.valid and not bad.valid and "invalid api key" in bad.detail
    fake.enqueue(base_resp(2049, "invalid api key"))
    in_body = await SPEC.verifier(context(http, fake)).verify_credential(options)  # type: ignore[misc]
    assert not in_body.valid
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/v1/models")] * 3
    fake.enqueue(Scripted(status=503, json={"error": {"message": "busy"}}))
    with pytest.raises(ServiceUnavailableError):
        await SPEC.verifier(context(http, fake)).verify_credential(options)  # type: ignore[misc]
