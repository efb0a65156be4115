"""The shared stream relay (``gateway.callers.streams``): upstream data of the wrong shape is a 502,
a bug in our own accumulator is not disguised as one, and the drain after the terminal event is
bounded when the upstream keeps the body open."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from gateway.callers.anthropic import PROVIDERS as ANTHROPIC
from gateway.callers.base import CallerContext, ChatCompletionOptions, Credential, RequestContext
from gateway.callers.openai import PROVIDERS as OPENAI
from gateway.callers.openai.response import ChunkAccumulator, from_openai_chat
from gateway.callers.shapes import ShapeError
from gateway.core.messages import Message, TextPart, UserMessage
from gateway.core.params import ModelParameters
from gateway.core.results import StreamEnd, StreamEvent
from gateway.errors import UpstreamError
from tests.conftest import GatewayFactory
from tests.fakes.anthropic_fake import VALID_KEY as ANTHROPIC_KEY
from tests.fakes.anthropic_fake import FakeAnthropic
from tests.fakes.anthropic_fake import text_stream as anthropic_text_stream
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, chunk, text_stream
from tests.fakes.server import Scripted, sse

MESSAGES: list[Message] = [UserMessage((TextPart("hello"),))]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic().start()
    yield fake
    fake.stop()


def options(model: str = "gpt-4o-mini") -> ChatCompletionOptions:
    return ChatCompletionOptions(RequestContext("req_1"), ModelParameters({"model.name": model}))


async def openai_stream(http: httpx.AsyncClient, fake: FakeOpenAI) -> list[StreamEvent]:
    assert OPENAI[0].llm is not None
    caller = OPENAI[0].llm(CallerContext("openai", http, Credential({"key": VALID_KEY, "base_url": fake.url + "/v1"})))
    return [event async for event in caller.stream_chat_completion(MESSAGES, options())]


def streamed(frames: list[bytes], **kwargs: Any) -> Scripted:
    return Scripted(stream=frames, media_type="text/event-stream", **kwargs)


WRONG_SHAPES = {
    "choices_not_a_list": {"choices": {"index": 0}},
    "choice_not_an_object": {"choices": [1]},
    "index_not_an_integer": {"choices": [{"index": "0", "delta": {"content": "x"}}]},
    "delta_not_an_object": {"choices": [{"index": 0, "delta": ["x"]}]},
    "content_not_a_string": {"choices": [{"index": 0, "delta": {"content": 5}}]},
    "tool_calls_not_a_list": {"choices": [{"index": 0, "delta": {"tool_calls": "call"}}]},
    "fragment_not_an_object": {"choices": [{"index": 0, "delta": {"tool_calls": [None]}}]},
    "function_not_an_object": {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": "f"}]}}]},
    "arguments_not_a_string": {"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "function": {"name": "f", "arguments": 7}}]}}]},
    "model_not_a_string": {"model": ["gpt"], "choices": []},
}


@pytest.mark.parametrize("bad", WRONG_SHAPES.values(), ids=list(WRONG_SHAPES))
async def test_an_upstream_chunk_of_the_wrong_shape_is_a_malformed_response(
        http: httpx.AsyncClient, fake_openai: FakeOpenAI, bad: dict[str, Any]) -> None:
    fake_openai.enqueue(streamed(sse([chunk({"content": "Hi"}), bad], done=True)))
    with pytest.raises(UpstreamError) as caught:
        await openai_stream(http, fake_openai)
    assert (caught.value.code, caught.value.status) == ("upstream_malformed_response", 502)
    assert isinstance(caught.value.__cause__, ShapeError), "the typed check found it, and says where"


async def test_a_bug_in_our_accumulator_is_not_blamed_on_the_provider(
        http: httpx.AsyncClient, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: ChunkAccumulator, chunk: dict[str, Any]) -> Iterator[StreamEvent]:
        raise KeyError("a bug of ours")
        yield  # pragma: no cover

    monkeypatch.setattr(ChunkAccumulator, "feed", broken)
    fake_openai.enqueue(streamed(text_stream(["Hi"])))
    with pytest.raises(KeyError, match="a bug of ours"):
        await openai_stream(http, fake_openai)


def test_through_the_gateway_the_bug_is_a_500_internal_error_with_its_traceback_logged(
        gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken(self: ChunkAccumulator, chunk: dict[str, Any]) -> Iterator[StreamEvent]:
        raise TypeError("a bug of ours")
        yield  # pragma: no cover

    monkeypatch.setattr(ChunkAccumulator, "feed", broken)
    gw = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"})
    answer = gw.http.post("/v1/chat/completions", json={
        "model": "openai/gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    body = answer.text
    assert "upstream_malformed_response" not in body
    print("STATUS", answer.status_code, body[:300])
    assert "internal_error" in body and answer.status_code in (200, 500), body
    assert any(record.exc_info and isinstance(record.exc_info[1], TypeError) for record in caplog.records)


async def test_a_body_kept_open_after_done_is_drained_for_a_bounded_time(
        http: httpx.AsyncClient, fake_openai: FakeOpenAI) -> None:
    release = threading.Event()
    frames = text_stream(["Hi"])
    fake_openai.enqueue(streamed([*frames, b": still here\n\n"], hold_after=len(frames) - 1, release=release))
    started = time.monotonic()
    try:
        events = await openai_stream(http, fake_openai)
    finally:
        release.set()
    assert time.monotonic() - started < 2.0
    assert isinstance(events[-1], StreamEnd) and events[-1].result.choices[0].content == "Hi"


async def test_anthropic_after_message_stop_is_drained_for_a_bounded_time(
        http: httpx.AsyncClient, fake_anthropic: FakeAnthropic) -> None:
    release = threading.Event()
    frames = anthropic_text_stream(["Hi"])
    fake_anthropic.enqueue(streamed([*frames, b"event: ping\ndata: {}\n\n"], hold_after=len(frames) - 1,
                                    release=release))
    assert ANTHROPIC[0].llm is not None
    ctx = CallerContext("anthropic", http, Credential({"key": ANTHROPIC_KEY, "base_url": fake_anthropic.url}))
    started = time.monotonic()
    try:
        events = [e async for e in ANTHROPIC[0].llm(ctx).stream_chat_completion(MESSAGES, options("claude"))]
    finally:
        release.set()
    assert time.monotonic() - started < 2.0
    assert isinstance(events[-1], StreamEnd) and events[-1].result.choices[0].content == "Hi"


@pytest.mark.parametrize("bad", [
    {"choices": [1]},
    {"choices": [{"index": 0, "message": ["hi"]}]},
    {"choices": [{"index": 0, "message": {"content": "x", "tool_calls": "call"}}]},
    {"choices": [{"index": 0, "message": {"tool_calls": [{"id": "c", "function": {"name": 3}}]}}]},
], ids=["choice", "message", "tool_calls", "name"])
def test_a_whole_completion_of_the_wrong_shape_is_a_malformed_response(bad: dict[str, Any]) -> None:
    with pytest.raises(UpstreamError) as caught:
        from_openai_chat(bad, "openai")
    assert caught.value.code == "upstream_malformed_response"
    assert isinstance(caught.value.__cause__, ShapeError)
