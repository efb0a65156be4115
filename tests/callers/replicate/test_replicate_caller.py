"""The Replicate caller against the fake Replicate API over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.callers.base import (
    CallerContext,
    ChatCompletionOptions,
    Credential,
    CredentialVerifierOptions,
    RequestContext,
    Timeouts,
)
from gateway.callers.replicate import PROVIDERS
from gateway.callers.replicate.llm import ReplicateLargeLanguageCaller
from gateway.core.messages import Message, SystemMessage, TextPart, UserMessage
from gateway.core.params import ModelParameters
from gateway.core.results import StreamEnd, StreamEvent, TextDelta
from gateway.errors import (
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    UpstreamError,
    UpstreamTimeoutError,
)
from tests.fakes.replicate_fake import VALID_TOKEN, FakeReplicate, problem, replicate_sse
from tests.fakes.server import Scripted

SPEC = PROVIDERS[0]
MODEL = "meta/meta-llama-3-8b-instruct"
MESSAGES: list[Message] = [SystemMessage("Be brief."), UserMessage((TextPart("hello world"),))]


def dotted(values: dict[str, Any]) -> dict[str, Any]:
    """Dotted parameter names to pass as ``**kwargs``; typed ``Any`` so mypy does not check them against the
    helpers' named arguments."""
    return values


def context(http: httpx.AsyncClient, fake: FakeReplicate, key: str = VALID_TOKEN,
            timeouts: Timeouts | None = None) -> CallerContext:
    return CallerContext("replicate", http, Credential({"key": key, "base_url": fake.url}), timeouts or Timeouts())


def caller(http: httpx.AsyncClient, fake: FakeReplicate, **kwargs: Any) -> ReplicateLargeLanguageCaller:
    return ReplicateLargeLanguageCaller(context(http, fake, **kwargs), poll_interval=0.01)


def chat_options(model: str = MODEL, **params: Any) -> ChatCompletionOptions:
    return ChatCompletionOptions(RequestContext("req_1"), ModelParameters({"model.name": model, **params}))


async def collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in stream]


def stream_answer(frames: list[bytes]) -> Scripted:
    return Scripted(stream=frames, media_type="text/event-stream")


async def test_chat_creates_an_official_model_prediction_in_sync_mode(http: httpx.AsyncClient,
                                                                      fake_replicate: FakeReplicate) -> None:
    result = await caller(http, fake_replicate).get_chat_completion(MESSAGES, chat_options(**dotted({
        "model.max_completion_tokens": 64, "model.temperature": 0.2, "model.stop": ["END"]})))
    sent = fake_replicate.last
    assert (sent.method, sent.path) == ("POST", "/v1/models/meta/meta-llama-3-8b-instruct/predictions")
    assert sent.headers["authorization"] == f"Bearer {VALID_TOKEN}"
    assert sent.headers["prefer"] == "wait"
    assert sent.body == {"input": {"prompt": "hello world", "system_prompt": "Be brief.", "temperature": 0.2,
                                   "max_tokens": 64, "stop_sequences": "END"}}
    assert len(fake_replicate.requests) == 1
    assert result.choices[0].content == "echo: hello world"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (2, 3)


async def test_a_versioned_model_uses_the_predictions_endpoint(http: httpx.AsyncClient,
                                                               fake_replicate: FakeReplicate) -> None:
    await caller(http, fake_replicate).get_chat_completion(MESSAGES, chat_options("acme/llm:abc123"))
    sent = fake_replicate.requests[0]
    assert sent.path == "/v1/predictions" and sent.body["version"] == "abc123"


async def test_an_unfinished_prediction_is_polled_until_it_succeeds(http: httpx.AsyncClient,
                                                                   fake_replicate: FakeReplicate) -> None:
    fake_replicate.pending_polls = 2
    result = await caller(http, fake_replicate).get_chat_completion(MESSAGES, chat_options())
    assert [(r.method, r.path) for r in fake_replicate.requests] == [
        ("POST", "/v1/models/meta/meta-llama-3-8b-instruct/predictions")] + [("GET", "/v1/predictions/p1")] * 3
    assert fake_replicate.last.headers["authorization"] == f"Bearer {VALID_TOKEN}"
    assert result.choices[0].content == "echo: hello world"


async def test_polling_stops_at_the_total_timeout_and_cancels(http: httpx.AsyncClient,
                                                              fake_replicate: FakeReplicate) -> None:
    fake_replicate.pending_polls = 10_000
    slow = caller(http, fake_replicate, timeouts=Timeouts(total=0.3))
    with pytest.raises(UpstreamTimeoutError):
        await slow.get_chat_completion(MESSAGES, chat_options())
    assert (fake_replicate.last.method, fake_replicate.last.path) == ("POST", "/v1/predictions/p1/cancel")


async def test_a_failed_prediction_is_an_upstream_error(http: httpx.AsyncClient,
                                                        fake_replicate: FakeReplicate) -> None:
    fake_replicate.enqueue(Scripted(status=201, json=fake_replicate.prediction(status="failed",
                                                                                error="CUDA out of memory")))
    with pytest.raises(UpstreamError, match="CUDA out of memory"):
        await caller(http, fake_replicate).get_chat_completion(MESSAGES, chat_options())


async def test_stream_yields_output_events_then_reads_metrics(http: httpx.AsyncClient,
                                                              fake_replicate: FakeReplicate) -> None:
    events = await collect(caller(http, fake_replicate).stream_chat_completion(MESSAGES, chat_options()))
    create, stream, final = fake_replicate.requests
    assert create.body["stream"] is True and "prefer" not in create.headers
    assert (stream.method, stream.path, stream.headers["accept"]) == ("GET", "/v1/streams/p1", "text/event-stream")
    assert stream.headers["authorization"] == f"Bearer {VALID_TOKEN}"
    assert (final.method, final.path) == ("GET", "/v1/predictions/p1")
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["echo:", " hello", " world"]
    end = events[-1]
    assert isinstance(end, StreamEnd) and sum(isinstance(e, StreamEnd) for e in events) == 1
    assert end.result.choices[0].content == "echo: hello world"
    assert (end.result.usage.input_tokens, end.result.usage.output_tokens) == (2, 3)


async def test_multi_line_output_events_keep_their_newlines(http: httpx.AsyncClient,
                                                            fake_replicate: FakeReplicate) -> None:
    fake_replicate.enqueue(Scripted(status=201, json=fake_replicate.prediction(status="starting", stream=True)),
                           stream_answer(replicate_sse(["line one\nline two", "!"])))
    events = await collect(caller(http, fake_replicate).stream_chat_completion(MESSAGES, chat_options()))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["line one\nline two", "!"]


async def test_stream_usage_is_unknown_when_the_metrics_call_fails(http: httpx.AsyncClient,
                                                                   fake_replicate: FakeReplicate) -> None:
    fake_replicate.enqueue(Scripted(status=201, json=fake_replicate.prediction(status="starting", stream=True)),
                           stream_answer(replicate_sse(["Hi"])), problem(500, "Internal Server Error", "boom"))
    events = await collect(caller(http, fake_replicate).stream_chat_completion(MESSAGES, chat_options()))
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.result.choices[0].content == "Hi"
    assert (end.result.usage.input_tokens, end.result.usage.output_tokens) == (None, None)


async def test_an_error_event_raises(http: httpx.AsyncClient, fake_replicate: FakeReplicate) -> None:
    fake_replicate.enqueue(Scripted(status=201, json=fake_replicate.prediction(status="starting", stream=True)),
                           stream_answer(replicate_sse(["par"], error="Something went wrong")))
    received: list[StreamEvent] = []
    with pytest.raises(UpstreamError, match="Something went wrong"):
        async for event in caller(http, fake_replicate).stream_chat_completion(MESSAGES, chat_options()):
            received.append(event)
    assert [e.text for e in received if isinstance(e, TextDelta)] == ["par"]


@pytest.mark.parametrize("frames", [replicate_sse(["half"], end=False),
                                    replicate_sse(["half"], done={"reason": "canceled"})])
async def test_a_stream_without_a_clean_done_does_not_succeed(http: httpx.AsyncClient,
                                                              fake_replicate: FakeReplicate,
                                                              frames: list[bytes]) -> None:
    fake_replicate.enqueue(Scripted(status=201, json=fake_replicate.prediction(status="starting", stream=True)),
                           stream_answer(frames))
    with pytest.raises(UpstreamError) as caught:
        await collect(caller(http, fake_replicate).stream_chat_completion(MESSAGES, chat_options()))
    assert caught.value.code in ("upstream_stream_truncated", "prediction_canceled")


async def test_a_model_without_streaming_is_refused(http: httpx.AsyncClient, fake_replicate: FakeReplicate) -> None:
    fake_replicate.enqueue(Scripted(status=201, json=fake_replicate.prediction(status="starting")))
    with pytest.raises(UpstreamError) as caught:
        await collect(caller(http, fake_replicate).stream_chat_completion(MESSAGES, chat_options()))
    assert caught.value.code == "streaming_unsupported"


async def test_upstream_errors_map_by_status_with_problem_details(http: httpx.AsyncClient,
                                                                 fake_replicate: FakeReplicate) -> None:
    with pytest.raises(AuthenticationError, match="valid authentication token"):
        await caller(http, fake_replicate, key="r8_bad").get_chat_completion(MESSAGES, chat_options())
    fake_replicate.enqueue(problem(429, "Too Many Requests", "Request was throttled.", {"retry-after": "6"}))
    with pytest.raises(RateLimitError) as limited:
        await caller(http, fake_replicate).get_chat_completion(MESSAGES, chat_options())
    assert limited.value.retry_after == 6 and "throttled" in limited.value.message
    fake_replicate.enqueue(problem(422, "Input validation failed", "input.top_k: Must be greater than 0"))
    with pytest.raises(InvalidRequestError, match="top_k"):
        await caller(http, fake_replicate).get_chat_completion(MESSAGES, chat_options())
    fake_replicate.enqueue(problem(500, "Internal Server Error", "Something broke"))
    with pytest.raises(UpstreamError) as failed:
        await collect(caller(http, fake_replicate).stream_chat_completion(MESSAGES, chat_options()))
    assert failed.value.status == 502


async def test_verify_reads_the_account(http: httpx.AsyncClient, fake_replicate: FakeReplicate) -> None:
    verdict = await SPEC.verifier(context(http, fake_replicate)).verify_credential(  # type: ignore[misc]
        CredentialVerifierOptions(RequestContext("r")))
    assert verdict.valid and "gateway-tester" in verdict.detail
    assert (fake_replicate.last.method, fake_replicate.last.path) == ("GET", "/v1/account")
    verdict = await SPEC.verifier(context(http, fake_replicate, key="r8_bad")).verify_credential(  # type: ignore[misc]
        CredentialVerifierOptions(RequestContext("r")))
    assert not verdict.valid
    fake_replicate.enqueue(problem(500, "Internal Server Error", "down"))
    with pytest.raises(UpstreamError):
        await SPEC.verifier(context(http, fake_replicate)).verify_credential(  # type: ignore[misc]
            CredentialVerifierOptions(RequestContext("r")))


def test_the_spec_declares_no_tools_and_no_embeddings() -> None:
    assert SPEC.capabilities.as_dict() == {"chat": True, "stream": True, "tools": False, "embeddings": False,
                                           "rerank": False, "verify": True}
