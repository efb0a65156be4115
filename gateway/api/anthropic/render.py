"""Neutral results and stream events -> Anthropic Message objects and stream events.

Reference: Anthropic API docs, "Messages" (the Message object) and "Streaming Messages".
A stream is ``message_start``, then per content block ``content_block_start``, its deltas
and ``content_block_stop`` (blocks numbered from 0 in order), then ``message_delta``
(``stop_reason``, usage) and ``message_stop``; each frame carries an ``event:`` line.

Translated answers differ from Anthropic's own in what the neutral model cannot carry:
``stop_sequence`` is always ``null`` (providers do not say which sequence matched, so a stop
reads as ``end_turn``); thinking blocks carry an empty ``signature``; a tool call arrives
complete, so its input goes out as one ``input_json_delta`` holding the whole JSON; and the
counts are known only at the end, so ``message_start`` reports zero usage and
``message_delta`` the provider's counts (input tokens and cache reads included).
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.core.json import dumps
from gateway.core.messages import ToolCall
from gateway.core.results import ChatResult, Choice, FinishReason, Usage

_STOP_REASONS: dict[FinishReason, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def message_id(request_id: str) -> str:
    return "msg_" + request_id.removeprefix("req_")


def stop_reason(choice: Choice) -> str:
    return _STOP_REASONS.get(choice.finish_reason or "stop", "end_turn")


def usage_object(usage: Usage) -> dict[str, Any]:
    """Anthropic's usage: ``input_tokens`` is the uncached part of the prompt."""
    cached = usage.cached_input_tokens
    out: dict[str, Any] = {"input_tokens": max(0, (usage.input_tokens or 0) - (cached or 0)),
                           "output_tokens": usage.output_tokens or 0}
    if cached is not None:
        out["cache_read_input_tokens"] = cached
    return out


def tool_input(call: ToolCall) -> Any:
    """The tool call's arguments as a JSON value (an object when the model produced one)."""
    try:
        return orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        return {"arguments": call.arguments}


def _tool_block(call: ToolCall) -> dict[str, Any]:
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": tool_input(call)}


def content_blocks(choice: Choice) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if choice.reasoning:
        blocks.append({"type": "thinking", "thinking": choice.reasoning, "signature": ""})
    if choice.content or choice.refusal:
        blocks.append({"type": "text", "text": (choice.content or "") + (choice.refusal or "")})
    blocks += [_tool_block(call) for call in choice.tool_calls]
    return blocks


def message(result: ChatResult, model: str, request_id: str) -> dict[str, Any]:
    """The Message object of a whole translated answer (its first choice)."""
    choice = result.choices[0] if result.choices else Choice()
    return {"id": message_id(request_id), "type": "message", "role": "assistant", "model": model,
            "content": content_blocks(choice), "stop_reason": stop_reason(choice), "stop_sequence": None,
            "usage": usage_object(result.usage)}


def event(kind: str, data: dict[str, Any]) -> bytes:
    """One frame: ``event: <kind>`` and the JSON ``data`` (whose ``type`` is ``kind``)."""
    return b"event: " + kind.encode() + b"\ndata: " + dumps({"type": kind, **data}) + b"\n\n"


def error_object(error_type: str, message_text: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message_text}}


def error_event(error_type: str, message_text: str) -> bytes:
    return event("error", {"error": {"type": error_type, "message": message_text}})
