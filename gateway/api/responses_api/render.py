"""Neutral results -> Response objects; neutral stream events -> the Responses stream lifecycle.

Only this module builds what a ``/v1/responses`` client receives. A stream goes
``response.created``, ``response.in_progress``, then per output item ``output_item.added``, its
parts and deltas, ``output_item.done``, and ends with one of ``response.completed``,
``response.incomplete`` or ``response.failed``; ``sequence_number`` counts every event from 0.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gateway.api.responses_api.items import new_id
from gateway.core.json import dumps
from gateway.core.messages import ToolCall, ToolDefinition
from gateway.core.results import ChatResult, Choice, ReasoningDelta, StreamEvent, TextDelta, ToolCallEvent, Usage

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
_FAILURE_CODES = {429: "rate_limit_exceeded", 400: "invalid_prompt"}


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """What every rendering of one response repeats: its id, time, and the request's settings."""

    id: str
    model: str
    instructions: str | None = None
    tools: tuple[ToolDefinition, ...] = ()
    tool_choice: Any = "auto"
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    previous_response_id: str | None = None
    store: bool = True
    text_format: dict[str, Any] = field(default_factory=lambda: {"type": "text"})
    reasoning_effort: str | None = None
    user: str | None = None
    created_at: int = field(default_factory=lambda: int(time.time()))


def usage_object(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens or 0,
        "input_tokens_details": {"cached_tokens": usage.cached_input_tokens or 0, "cache_write_tokens": 0},
        "output_tokens": usage.output_tokens or 0,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens or 0},
        "total_tokens": usage.total or 0,
    }


def _tool(tool: ToolDefinition) -> dict[str, Any]:
    return {"type": "function", "name": tool.name, "description": tool.description,
            "parameters": tool.parameters, "strict": tool.strict if tool.strict is not None else False}


def response_object(head: ResponseHead, status: str, output: list[dict[str, Any]], *,
                    usage: Usage | None = None, error: dict[str, str] | None = None,
                    incomplete: str | None = None) -> dict[str, Any]:
    """The Response resource in ``status`` with ``output`` so far."""
    body: dict[str, Any] = {
        "id": head.id, "object": "response", "created_at": head.created_at, "status": status,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": error, "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": head.instructions, "max_output_tokens": head.max_output_tokens, "model": head.model,
        "output": output, "parallel_tool_calls": head.parallel_tool_calls,
        "previous_response_id": head.previous_response_id,
        "reasoning": {"effort": head.reasoning_effort, "summary": None},
        "store": head.store, "temperature": head.temperature, "text": {"format": head.text_format},
        "tool_choice": head.tool_choice, "tools": [_tool(t) for t in head.tools], "top_p": head.top_p,
        "truncation": "disabled",
        "metadata": head.metadata,
    }
    if head.user is not None:
        body["user"] = head.user
    if usage is not None:
        body["usage"] = usage_object(usage)
    return body


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _reasoning_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    summary = [{"type": "summary_text", "text": text}] if text else []
    return {"id": item_id, "type": "reasoning", "summary": summary, "status": status}


def _message_item(item_id: str, parts: list[dict[str, Any]], status: str = "completed") -> dict[str, Any]:
    return {"id": item_id, "type": "message", "role": "assistant", "content": parts, "status": status}


def _call_item(item_id: str, call: ToolCall, status: str = "completed") -> dict[str, Any]:
    return {"id": item_id, "type": "function_call", "call_id": call.id, "name": call.name,
            "arguments": call.arguments if status == "completed" else "", "status": status}


def output_items(choice: Choice) -> list[dict[str, Any]]:
    """The output items of a whole completion: reasoning, the message, then each function call."""
    items: list[dict[str, Any]] = []
    if choice.reasoning:
        items.append(_reasoning_item(new_id("rs_"), choice.reasoning))
    parts = [_text_part(choice.content)] if choice.content else []
    if choice.refusal:
        parts.append({"type": "refusal", "refusal": choice.refusal})
    if parts:
        items.append(_message_item(new_id("msg_"), parts))
    items += [_call_item(new_id("fc_"), call) for call in choice.tool_calls]
    return items


def _status(choice: Choice | None) -> tuple[str, str | None]:
    reason = _INCOMPLETE.get(choice.finish_reason or "") if choice is not None else None
    return ("incomplete", reason) if reason else ("completed", None)


def _first(result: ChatResult) -> Choice | None:
    return result.choices[0] if result.choices else None


def final_response(head: ResponseHead, result: ChatResult, output: list[dict[str, Any]]) -> dict[str, Any]:
    status, reason = _status(_first(result))
    return response_object(head, status, output, usage=result.usage, incomplete=reason)


def response(head: ResponseHead, result: ChatResult) -> dict[str, Any]:
    """The non-streaming answer."""
    choice = _first(result)
    return final_response(head, result, output_items(choice) if choice is not None else [])


def failure(status: int, message: str) -> dict[str, str]:
    """The ``error`` of a failed response (``code`` from the spec's ``ResponseErrorCode``)."""
    return {"code": _FAILURE_CODES.get(status, "server_error"), "message": message}


@dataclass(slots=True)
class _OpenItem:
    kind: str
    index: int
    id: str
    text: str = ""


class EventRenderer:
    """Builds the SSE frames of one response stream; ``output`` holds the finished items."""

    def __init__(self, head: ResponseHead) -> None:
        self.head = head
        self.output: list[dict[str, Any]] = []
        self._sequence = 0
        self._open: _OpenItem | None = None

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + dumps(payload) + b"\n\n"

    def start(self) -> bytes:
        snapshot = response_object(self.head, "in_progress", [])
        return self._event("response.created", response=snapshot) + self._event("response.in_progress",
                                                                                response=snapshot)

    def event(self, event: StreamEvent) -> bytes:
        """Frames for a text, reasoning or tool call event (``StreamEnd`` goes to ``finish``)."""
        if isinstance(event, TextDelta):
            return self._delta("message", event.text)
        if isinstance(event, ReasoningDelta):
            return self._delta("reasoning", event.text)
        if isinstance(event, ToolCallEvent):
            return self.close() + self._tool_call(event.tool_call)
        return b""

    def _delta(self, kind: str, text: str) -> bytes:
        frames = b""
        if self._open is None or self._open.kind != kind:
            frames = self.close() + self._open_item(kind)
        assert self._open is not None
        self._open.text += text
        where = {"item_id": self._open.id, "output_index": self._open.index}
        if kind == "message":
            return frames + self._event("response.output_text.delta", **where, content_index=0, delta=text,
                                        logprobs=[])
        return frames + self._event("response.reasoning_summary_text.delta", **where, summary_index=0, delta=text)

    def _open_item(self, kind: str) -> bytes:
        item = _OpenItem(kind, len(self.output), new_id("msg_" if kind == "message" else "rs_"))
        self._open = item
        where = {"item_id": item.id, "output_index": item.index}
        if kind == "message":
            return (self._event("response.output_item.added", output_index=item.index,
                                item=_message_item(item.id, [], "in_progress"))
                    + self._event("response.content_part.added", **where, content_index=0, part=_text_part("")))
        return (self._event("response.output_item.added", output_index=item.index,
                            item=_reasoning_item(item.id, "", "in_progress"))
                + self._event("response.reasoning_summary_part.added", **where, summary_index=0,
                              part={"type": "summary_text", "text": ""}))

    def close(self) -> bytes:
        """Frames finishing the open message or reasoning item, if any."""
        item, self._open = self._open, None
        if item is None:
            return b""
        where = {"item_id": item.id, "output_index": item.index}
        if item.kind == "message":
            done = _message_item(item.id, [_text_part(item.text)])
            frames = (self._event("response.output_text.done", **where, content_index=0, text=item.text,
                                  logprobs=[])
                      + self._event("response.content_part.done", **where, content_index=0,
                                    part=_text_part(item.text)))
        else:
            done = _reasoning_item(item.id, item.text)
            part = {"type": "summary_text", "text": item.text}
            frames = (self._event("response.reasoning_summary_text.done", **where, summary_index=0, text=item.text)
                      + self._event("response.reasoning_summary_part.done", **where, summary_index=0, part=part))
        self.output.append(done)
        return frames + self._event("response.output_item.done", output_index=item.index, item=done)

    def _tool_call(self, call: ToolCall) -> bytes:
        index, item_id = len(self.output), new_id("fc_")
        where = {"item_id": item_id, "output_index": index}
        done = _call_item(item_id, call)
        self.output.append(done)
        return (self._event("response.output_item.added", output_index=index,
                            item=_call_item(item_id, call, "in_progress"))
                + self._event("response.function_call_arguments.delta", **where, delta=call.arguments)
                + self._event("response.function_call_arguments.done", **where, name=call.name,
                              arguments=call.arguments)
                + self._event("response.output_item.done", output_index=index, item=done))

    def _refusal(self, refusal: str) -> bytes:
        """A message item holding the refusal the provider reported at the end of its stream."""
        index, item_id = len(self.output), new_id("msg_")
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        part = {"type": "refusal", "refusal": refusal}
        done = _message_item(item_id, [part])
        self.output.append(done)
        return (self._event("response.output_item.added", output_index=index,
                            item=_message_item(item_id, [], "in_progress"))
                + self._event("response.content_part.added", **where, part={"type": "refusal", "refusal": ""})
                + self._event("response.refusal.delta", **where, delta=refusal)
                + self._event("response.refusal.done", **where, refusal=refusal)
                + self._event("response.content_part.done", **where, part=part)
                + self._event("response.output_item.done", output_index=index, item=done))

    def finish(self, result: ChatResult) -> tuple[bytes, dict[str, Any]]:
        """Frames closing the open item (and carrying a refusal), and the final Response (for
        ``terminal``, and to store)."""
        frames = self.close()
        choice = _first(result)
        if choice is not None and choice.refusal:
            frames += self._refusal(choice.refusal)
        return frames, final_response(self.head, result, self.output)

    def terminal(self, final: dict[str, Any]) -> bytes:
        """``response.completed`` or ``response.incomplete`` carrying ``final``."""
        kind = "response.completed" if final["status"] == "completed" else "response.incomplete"
        return self._event(kind, response=final)

    def failed(self, status: int, message: str) -> bytes:
        """Frames ending the stream after an error: the open item closed, then ``response.failed``."""
        frames = self.close()
        snapshot = response_object(self.head, "failed", self.output, error=failure(status, message))
        return frames + self._event("response.failed", response=snapshot)
