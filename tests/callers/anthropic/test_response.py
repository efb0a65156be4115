"""Pure translation tests: Anthropic messages and stream events -> neutral results."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.callers.anthropic.errors import parse_anthropic_error, stream_error
from gateway.callers.anthropic.response import from_anthropic_message, usage_from_anthropic
from gateway.callers.anthropic.stream import EventAccumulator
from gateway.callers.http import ErrorInfo
from gateway.core.results import ReasoningDelta, StreamEvent, TextDelta, ToolCallEvent, Usage
from gateway.errors import (
    AuthenticationError,
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    UpstreamError,
)
from tests.fakes.anthropic_fake import (
    MODEL,
    message,
    text_block_events,
    thinking_block_events,
    tool_block_events,
)


def test_message_with_thinking_text_and_tool_use() -> None:
    body = message([
        {"type": "thinking", "thinking": "Let me see.", "signature": "sig"},
        {"type": "text", "text": "Checking "},
        {"type": "text", "text": "now."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris", "days": [1, 2]}},
    ], "tool_use", usage={"input_tokens": 10, "cache_creation_input_tokens": 4, "cache_read_input_tokens": 6,
                          "output_tokens": 30, "output_tokens_details": {"thinking_tokens": 12}})
    result = from_anthropic_message(body, "anthropic")
    choice = result.choices[0]
    assert (choice.content, choice.reasoning, choice.finish_reason) == ("Checking now.", "Let me see.", "tool_calls")
    call = choice.tool_calls[0]
    assert (call.id, call.name, orjson.loads(call.arguments)) == ("toolu_1", "get_weather",
                                                                  {"city": "Paris", "days": [1, 2]})
    assert result.usage == Usage(input_tokens=20, output_tokens=30, total_tokens=50, cached_input_tokens=6,
                                 reasoning_tokens=12)
    assert (result.model, result.provider_request_id) == (MODEL, "msg_fake1")


def test_tool_only_message_has_no_content() -> None:
    body = message([{"type": "tool_use", "id": "t", "name": "f", "input": {}}], "tool_use")
    choice = from_anthropic_message(body, "anthropic").choices[0]
    assert choice.content is None and choice.tool_calls[0].arguments == "{}"


@pytest.mark.parametrize(("stop_reason", "finish"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
    ("refusal", "content_filter"), ("model_context_window_exceeded", "length"), ("pause_turn", "stop"),
])
def test_stop_reasons(stop_reason: str, finish: str) -> None:
    body = message([{"type": "text", "text": "x"}], stop_reason)
    assert from_anthropic_message(body, "anthropic").choices[0].finish_reason == finish


def test_usage_without_cache_fields() -> None:
    assert usage_from_anthropic({"input_tokens": 5, "output_tokens": 2}) == Usage(5, 2, 7, None, None)
    assert usage_from_anthropic(None) == Usage()


def test_malformed_message_raises() -> None:
    with pytest.raises(UpstreamError):
        from_anthropic_message({"type": "message"}, "anthropic")


def test_error_body_parser() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "r"}
    assert parse_anthropic_error(body) == ErrorInfo("Overloaded", "overloaded_error")
    assert parse_anthropic_error({"error": {"message": "proxy said no", "code": "x"}}) == ErrorInfo(
        "proxy said no", "x", None)


@pytest.mark.parametrize(("kind", "cls", "status"), [
    ("overloaded_error", ServiceUnavailableError, 503), ("rate_limit_error", RateLimitError, 429),
    ("api_error", UpstreamError, 502), ("invalid_request_error", InvalidRequestError, 400),
    ("authentication_error", AuthenticationError, 401), ("permission_error", PermissionDeniedError, 403),
    ("not_found_error", NotFoundError, 404), ("request_too_large", PayloadTooLargeError, 413),
    ("something_new", UpstreamError, 502),
])
def test_stream_error_types_map_to_statuses(kind: str, cls: type[GatewayError], status: int) -> None:
    error = stream_error({"type": "error", "error": {"type": kind, "message": "boom"}}, "anthropic")
    assert type(error) is cls and error.status == status and error.code == kind
    assert error.message == "anthropic: boom"


def feed_all(acc: EventAccumulator, events: list[tuple[str, dict[str, Any]]]) -> list[StreamEvent]:
    return [item for kind, data in events for item in acc.feed(kind, data)]


def start(usage: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    msg = message([], usage=usage)
    return "message_start", {"type": "message_start", "message": msg}


def test_accumulator_streams_text_reasoning_and_each_tool_call_once() -> None:
    acc = EventAccumulator("anthropic")
    events = [start({"input_tokens": 9, "cache_read_input_tokens": 1, "output_tokens": 1}), ("ping", {"type": "ping"}),
              *thinking_block_events(0, ["hmm", "..."]), *text_block_events(1, ["Hel", "lo"]),
              *tool_block_events(2, "toolu_a", "f", ['{"a"', ": 1}"]), *tool_block_events(3, "toolu_b", "g", []),
              ("content_block_stop", {"type": "content_block_stop", "index": 2}),
              ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                                 "usage": {"output_tokens": 42}}),
              ("message_stop", {"type": "message_stop"})]
    out = feed_all(acc, events)
    assert [e.text for e in out if isinstance(e, ReasoningDelta)] == ["hmm", "..."]
    assert [e.text for e in out if isinstance(e, TextDelta)] == ["Hel", "lo"]
    calls = [e for e in out if isinstance(e, ToolCallEvent)]
    assert [(c.position, c.tool_call.id, c.tool_call.arguments) for c in calls] == [
        (0, "toolu_a", '{"a": 1}'), (1, "toolu_b", "{}")]
    assert acc.finished
    result = acc.result()
    assert (result.choices[0].content, result.choices[0].reasoning) == ("Hello", "hmm...")
    assert result.choices[0].finish_reason == "tool_calls"
    assert (result.usage.input_tokens, result.usage.cached_input_tokens, result.usage.output_tokens) == (10, 1, 42)


def test_accumulator_raises_on_error_events_and_orphan_deltas() -> None:
    acc = EventAccumulator("anthropic")
    with pytest.raises(ServiceUnavailableError):
        list(acc.feed("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    with pytest.raises(UpstreamError):
        list(acc.feed("content_block_delta", {"type": "content_block_delta", "index": 5,
                                              "delta": {"type": "text_delta", "text": "x"}}))
    assert list(acc.feed("some_future_event", {"type": "some_future_event"})) == []
