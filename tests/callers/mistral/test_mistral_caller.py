"""The Mistral callers against the fake Mistral server over real HTTP on loopback."""

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
    EmbeddingOptions,
    RequestContext,
)
from gateway.callers.mistral import PROVIDERS
from gateway.core.messages import (
    AssistantMessage,
    Message,
    TextPart,
    ToolCall,
    ToolDefinition,
    ToolMessage,
    UserMessage,
)
from gateway.core.params import ModelParameters
from gateway.core.results import ReasoningDelta, StreamEnd, StreamEvent, TextDelta, ToolCallEvent
from gateway.errors import (
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    ServiceUnavailableError,
    UpstreamError,
)
from tests.fakes.mistral_fake import VALID_KEY, FakeMistral, chunk, mistral_error, text_stream
from tests.fakes.server import Scripted, sse

SPEC = PROVIDERS[0]
MESSAGES: list[Message] = [UserMessage((TextPart("hello world"),))]
WEATHER = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})
TIME = ToolDefinition("get_time", "Time", {"type": "object", "properties": {"city": {"type": "string"}}})


def dotted(values: dict[str, Any]) -> dict[str, Any]:
    """Dotted parameter names to pass as ``**kwargs``; typed ``Any`` so mypy does not check them against the
    helpers' named arguments."""
    return values


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeMistral]:
    server = FakeMistral().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_log(fake: FakeMistral) -> None:
    fake.requests.clear()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def context(http: httpx.AsyncClient, fake: FakeMistral, key: str = VALID_KEY) -> CallerContext:
    return CallerContext("mistral", http, Credential({"key": key, "base_url": fake.url}))


def chat_options(tools: tuple[ToolDefinition, ...] = (), **params: Any) -> ChatCompletionOptions:
    return ChatCompletionOptions(RequestContext("req_1"),
                                 ModelParameters({"model.name": "mistral-small-latest", **params}),
                                 tool_definitions=tools)


async def collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in stream]


async def test_chat_sends_mistral_fields_and_counts_tokens_the_right_way_round(
        http: httpx.AsyncClient, fake: FakeMistral) -> None:
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    result = await caller.get_chat_completion(MESSAGES, chat_options(**dotted({
        "model.max_completion_tokens": 50, "model.temperature": 0.2, "model.stop": ["END"], "model.seed": 3,
        "model.response_format": {"type": "json_object"}})))
    sent = fake.last
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {VALID_KEY}"
    assert sent.body == {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hello world"}],
                         "temperature": 0.2, "random_seed": 3, "max_tokens": 50, "stop": ["END"],
                         "response_format": {"type": "json_object"}}
    assert result.choices[0].content == '{"echo": "hello world"}'
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total) == (12, 5, 17)


async def test_tool_call_round_trip_with_foreign_ids_is_accepted(http: httpx.AsyncClient, fake: FakeMistral) -> None:
    history: list[Message] = [
        *MESSAGES,
        AssistantMessage(None, (ToolCall("call_abc123", "get_weather", '{"city": "Paris"}'),)),
        ToolMessage("call_abc123", "18C"),
    ]
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    result = await caller.get_chat_completion(history, chat_options((WEATHER,)))
    assert result.choices[0].content == "echo: hello world"
    sent = fake.last.body["messages"]
    assert sent[1]["tool_calls"][0]["id"] == sent[2]["tool_call_id"] != "call_abc123"


async def test_non_stream_tool_calls(http: httpx.AsyncClient, fake: FakeMistral) -> None:
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    result = await caller.get_chat_completion(
        MESSAGES, chat_options((WEATHER,), **dotted({"model.tool_choice": "required"})))
    assert fake.last.body["tool_choice"] == "any"
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.content is None
    assert choice.tool_calls == (ToolCall("aB3xK9mP2", "get_weather", '{"city": "Paris"}'),)


async def test_stream_text_reasoning_and_usage(http: httpx.AsyncClient, fake: FakeMistral) -> None:
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    events = await collect(caller.stream_chat_completion(
        MESSAGES, chat_options(**dotted({"model.reasoning_effort": "high"}))))
    assert fake.last.body["stream"] is True and "stream_options" not in fake.last.body
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["Let me think."]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["echo: ", "hello ", "world"]
    ends = [e for e in events if isinstance(e, StreamEnd)]
    assert len(ends) == 1 and events[-1] is ends[0]
    result = ends[0].result
    assert (result.choices[0].content, result.choices[0].reasoning) == ("echo: hello world", "Let me think.")
    assert (result.usage.input_tokens, result.usage.output_tokens) == (12, 4)


async def test_stream_tool_calls_arrive_once_each_and_complete(http: httpx.AsyncClient, fake: FakeMistral) -> None:
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    events = await collect(caller.stream_chat_completion(
        MESSAGES, chat_options((WEATHER, TIME), **dotted({"model.tool_choice": "required"}))))
    calls = [(e.position, e.tool_call.id, e.tool_call.name, e.tool_call.arguments)
             for e in events if isinstance(e, ToolCallEvent)]
    assert calls == [(0, "aB3xK9mP2", "get_weather", '{"city": "Paris"}'),
                     (1, "Zq7Wn4Rt8", "get_time", '{"city": "Rome"}')]
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.result.choices[0].finish_reason == "tool_calls"
    assert end.result.usage.input_tokens == 20


async def test_an_error_event_inside_the_stream_raises(http: httpx.AsyncClient, fake: FakeMistral) -> None:
    frames = sse([chunk({"content": "par"}), {"object": "error", "message": "Service unavailable",
                                              "type": "internal_server_error", "code": "1000",
                                              "raw_status_code": 503}])
    fake.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    received: list[StreamEvent] = []
    with pytest.raises(ServiceUnavailableError, match="Service unavailable"):
        async for event in caller.stream_chat_completion(MESSAGES, chat_options()):
            received.append(event)
    assert [e.text for e in received if isinstance(e, TextDelta)] == ["par"]


async def test_a_truncated_stream_raises(http: httpx.AsyncClient, fake: FakeMistral) -> None:
    fake.enqueue(Scripted(stream=text_stream(["a", "b"], done=False)[:-1], media_type="text/event-stream"))
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    with pytest.raises(UpstreamError) as caught:
        await collect(caller.stream_chat_completion(MESSAGES, chat_options()))
    assert caught.value.code == "upstream_stream_truncated"


async def test_rate_limit_keeps_status_and_retry_after(http: httpx.AsyncClient, fake: FakeMistral) -> None:
    fake.enqueue(mistral_error(429, "Requests rate limit exceeded", "rate_limited", "1300", {"retry-after": "7"}))
    caller = SPEC.llm(context(http, fake))  # type: ignore[misc]
    with pytest.raises(RateLimitError) as caught:
        await caller.get_chat_completion(MESSAGES, chat_options())
    assert caught.value.retry_after == 7 and caught.value.code == "1300"
    assert "Requests rate limit exceeded" in caught.value.message


async def test_auth_failure_and_validation_errors(http: httpx.AsyncClient, fake: FakeMistral) -> None:
    with pytest.raises(AuthenticationError, match="Unauthorized"):
        await SPEC.llm(context(http, fake, "wrong")).get_chat_completion(  # type: ignore[misc]
            MESSAGES, chat_options())
    fake.enqueue(Scripted(status=422, json={"detail": [
        {"type": "less_than_equal", "loc": ["body", "temperature"], "msg": "Input should be less than or equal to 1.5"}
    ]}))
    with pytest.raises(InvalidRequestError) as caught:
        await SPEC.llm(context(http, fake)).get_chat_completion(  # type: ignore[misc]
            MESSAGES, chat_options(**dotted({"model.temperature": 3})))
    assert caught.value.param == "temperature" and "less than or equal" in caught.value.message


@pytest.mark.parametrize("dimensions", [None, 4])
async def test_embeddings(http: httpx.AsyncClient, fake: FakeMistral, dimensions: int | None) -> None:
    params: dict[str, Any] = {"model.name": "mistral-embed"}
    if dimensions:
        params["model.dimensions"] = dimensions
    caller = SPEC.embedding(context(http, fake))  # type: ignore[misc]
    result = await caller.get_embedding(["a", "b c"], EmbeddingOptions(RequestContext("r"), ModelParameters(params)))
    sent = fake.last
    assert (sent.path, sent.headers["authorization"]) == ("/v1/embeddings", f"Bearer {VALID_KEY}")
    expected: dict[str, Any] = {"model": "mistral-embed", "input": ["a", "b c"], "output_dtype": "float"}
    if dimensions:
        expected["output_dimension"] = dimensions
    assert sent.body == expected
    assert [e.index for e in result.embeddings] == [0, 1]
    assert len(result.embeddings[0].vector) == (dimensions or 8)
    assert (result.usage.input_tokens, result.model) == (3, "mistral-embed")


async def test_verify_uses_the_free_models_call(http: httpx.AsyncClient, fake: FakeMistral) -> None:
    options = CredentialVerifierOptions(RequestContext("r"))
    good = await SPEC.verifier(context(http, fake)).verify_credential(options)  # type: ignore[misc]
    bad = await SPEC.verifier(context(http, fake, "wrong")).verify_credential(options)  # type: ignore[misc]
    assert good.valid and not bad.valid and "Unauthorized" in bad.detail
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/v1/models")] * 2


async def test_verify_raises_when_the_answer_says_nothing_about_the_key(http: httpx.AsyncClient,
                                                                       fake: FakeMistral) -> None:
    fake.enqueue(mistral_error(500, "Internal error", "internal_server_error"))
    with pytest.raises(UpstreamError):
        await SPEC.verifier(context(http, fake)).verify_credential(  # type: ignore[misc]
            CredentialVerifierOptions(RequestContext("r")))
