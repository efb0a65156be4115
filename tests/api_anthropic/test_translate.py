"""Pure translation and rendering: Anthropic Messages bodies -> ``ChatCall``, neutral results
and events -> Anthropic objects and frames."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.api.anthropic import render
from gateway.api.anthropic.errors import anthropic_envelope, error_type
from gateway.api.anthropic.schemas import MessagesRequest
from gateway.api.anthropic.stream import StreamRenderer
from gateway.api.anthropic.translate import to_chat_call
from gateway.core import params as p
from gateway.core.messages import (
    AssistantMessage,
    ImagePart,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from gateway.core.results import (
    ChatResult,
    Choice,
    ReasoningDelta,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallEvent,
    Usage,
)
from gateway.errors import InvalidRequestError
from tests.api_anthropic.conftest import sse_events
from tests.api_anthropic.event_shapes import MESSAGE, check_stream, validate


def body(**fields: Any) -> MessagesRequest:
    base: dict[str, Any] = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    return MessagesRequest.model_validate({**base, **fields})


def test_messages_and_parameters() -> None:
    call = to_chat_call(body(
        system="sys", stop_sequences=["X"], temperature=0.2, top_k=3, metadata={"user_id": "u"},
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": [{"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}},
                                               {"type": "image", "source": {"type": "url", "url": "http://x/i.png"}}]},
                  {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s"},
                                                    {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]},
                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]}]))
    assert call.messages == (
        SystemMessage("sys"), UserMessage((TextPart("a"), ImagePart("http://x/i.png"))),
        AssistantMessage(content=None, tool_calls=(ToolCall("t1", "f", '{"a":1}'),)), ToolMessage("t1", ""))
    assert call.parameters == {p.NAME: "m", p.MAX_COMPLETION_TOKENS: 10, p.STOP: ["X"], p.TEMPERATURE: 0.2,
                               p.TOP_K: 3, p.USER: "u", p.THINKING: {"type": "enabled", "budget_tokens": 1024}}


@pytest.mark.parametrize(("fields", "param"), [
    ({"tool_choice": {"type": "tool", "name": "g"}, "tools": [{"name": "f", "input_schema": {"type": "object"}}]},
     "tool_choice.name"),
    ({"tools": [{"name": "f"}]}, "tools[0].input_schema"),
    ({"tools": [{"name": "f", "input_schema": {"type": 5}}]}, "tools[0].input_schema"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": [
        {"type": "image", "source": {"type": "url", "url": "http://x"}}]}]}]},
     "messages[0].content[0].content[0].type"),
    ({"messages": [{"role": "user", "content": "hi", "extra": 1}]}, "messages[0].extra"),
])
def test_refusals_name_the_field(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        to_chat_call(body(**fields))
    assert caught.value.param == param


def test_message_rendering() -> None:
    result = ChatResult(choices=(Choice(content="hi", reasoning="r", finish_reason="length",
                                        tool_calls=(ToolCall("c", "f", '{"x": 1}'),)),),
                        usage=Usage(input_tokens=10, output_tokens=4, cached_input_tokens=6))
    out = render.message(result, "m", "req_abc")
    validate(MESSAGE, out)
    assert out["id"] == "msg_abc" and out["stop_reason"] == "max_tokens"
    assert [b["type"] for b in out["content"]] == ["thinking", "text", "tool_use"]
    assert out["content"][2]["input"] == {"x": 1}
    assert out["usage"] == {"input_tokens": 4, "output_tokens": 4, "cache_read_input_tokens": 6}


def test_stream_rendering_order() -> None:
    renderer = StreamRenderer("m", "req_1")
    events: list[StreamEvent] = [ReasoningDelta("a"), TextDelta("b"), TextDelta("c"),
                                 ToolCallEvent(ToolCall("c1", "f", '{"q": 2}'), 0),
              ToolCallEvent(ToolCall("c2", "g", ""), 1), TextDelta("d"),
              StreamEnd(ChatResult(choices=(Choice(finish_reason="tool_calls"),), usage=Usage(3, 4)))]
    frames = renderer.start() + b"".join(renderer.render(e) for e in events)
    parsed = sse_events(frames.decode())
    check_stream(parsed)
    starts = [d["content_block"]["type"] for n, d in parsed if n == "content_block_start"]
    assert starts == ["thinking", "text", "tool_use", "tool_use", "text"]
    json_deltas = [d["delta"]["partial_json"] for _, d in parsed
                   if d.get("delta", {}).get("type") == "input_json_delta"]
    assert json_deltas == ['{"q": 2}', "{}"]
    assert parsed[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_error_envelope() -> None:
    assert [error_type(s) for s in (400, 401, 403, 404, 413, 429, 500, 502, 503, 529)] == [
        "invalid_request_error", "authentication_error", "permission_error", "not_found_error", "request_too_large",
        "rate_limit_error", "api_error", "api_error", "overloaded_error", "overloaded_error"]
    out = orjson.loads(anthropic_envelope(429, b'{"error": {"message": "slow", "type": "x"}}', "req_1"))
    assert out == {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}, "request_id": "req_1"}
