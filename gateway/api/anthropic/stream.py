"""Neutral stream events -> the frames of an Anthropic Messages stream (see ``render``)."""

from __future__ import annotations

from typing import Any

from gateway.api.anthropic.render import event, message_id, stop_reason, usage_object
from gateway.core.results import ChatResult, Choice, ReasoningDelta, StreamEvent, TextDelta, ToolCallEvent, Usage


class StreamRenderer:
    """Builds one stream's frames: ``start`` first, ``render`` per neutral event (``StreamEnd``
    closes the message). Only choice 0 is rendered: the Messages API has no choices."""

    def __init__(self, model: str, request_id: str) -> None:
        self._model = model
        self._id = message_id(request_id)
        self._index = -1
        self._open: str | None = None

    def start(self) -> bytes:
        return event("message_start", {"message": {
            "id": self._id, "type": "message", "role": "assistant", "model": self._model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": usage_object(Usage())}})

    def render(self, item: StreamEvent) -> bytes:
        if isinstance(item, TextDelta | ReasoningDelta | ToolCallEvent) and item.index != 0:
            return b""
        if isinstance(item, TextDelta):
            return self._delta("text", {"type": "text", "text": ""}, {"type": "text_delta", "text": item.text})
        if isinstance(item, ReasoningDelta):
            return self._delta("thinking", {"type": "thinking", "thinking": "", "signature": ""},
                               {"type": "thinking_delta", "thinking": item.text})
        if isinstance(item, ToolCallEvent):
            call = item.tool_call
            opened = self._delta("tool_use", {"type": "tool_use", "id": call.id, "name": call.name, "input": {}},
                                 {"type": "input_json_delta", "partial_json": call.arguments or "{}"})
            return opened + self._close()
        return self._close() + self._finish(item.result)

    def _delta(self, kind: str, block: dict[str, Any], delta: dict[str, Any]) -> bytes:
        out = b""
        if self._open != kind:
            out = self._close()
            self._index += 1
            self._open = kind
            out += event("content_block_start", {"index": self._index, "content_block": block})
        return out + event("content_block_delta", {"index": self._index, "delta": delta})

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        return event("content_block_stop", {"index": self._index})

    def _finish(self, result: ChatResult) -> bytes:
        choice = next((c for c in result.choices if c.index == 0), Choice())
        tail = b""
        if choice.refusal:
            tail = self._delta("text", {"type": "text", "text": ""}, {"type": "text_delta", "text": choice.refusal})
            tail += self._close()
        delta = {"stop_reason": stop_reason(choice), "stop_sequence": None}
        return tail + event("message_delta", {"delta": delta, "usage": usage_object(result.usage)}) + event(
            "message_stop", {})
