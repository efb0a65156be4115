"""Cohere v2 Chat stream events -> neutral stream events.

Reference: Cohere "A Guide to Streaming Responses" and "Streaming for tool use"
(API v2). Each SSE event is named (``event:``) and its JSON carries the same
``type``: ``message-start``, ``content-start`` / ``content-delta`` /
``content-end`` (``delta.message.content.text`` or ``.thinking``),
``tool-plan-delta`` (``delta.message.tool_plan``), ``tool-call-start`` (id, name,
first argument text), ``tool-call-delta`` (argument fragments), ``tool-call-end``,
``citation-start`` / ``citation-end`` and ``debug`` (ignored), and
``message-end`` (``delta.finish_reason``, ``delta.usage``, ``delta.error``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gateway.callers.cohere.response import finish_reason, usage_from_cohere
from gateway.callers.cohere.wire import obj
from gateway.callers.http import ServerSentEvent
from gateway.callers.streams import event_object
from gateway.core.messages import ToolCall
from gateway.core.results import (
    ChatResult,
    Choice,
    FinishReason,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallEvent,
    Usage,
)


@dataclass(slots=True)
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


def _message(event: dict[str, Any]) -> dict[str, Any]:
    return obj(obj(event, "delta"), "message")


class StreamAccumulator:
    """Feed each parsed event to ``feed`` and forward what it yields.

    Text (and the tool plan, which Cohere streams before its tool calls) is
    yielded as ``TextDelta``, thinking as ``ReasoningDelta``; each tool call is
    yielded once, complete, at its ``tool-call-end``. ``finished`` turns true at
    ``message-end``; ``result()`` is the ``StreamEnd`` payload. A failed
    ``message-end`` raises ``UpstreamError``.
    """

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: list[ToolCall] = []
        self._pending: dict[int, _PendingCall] = {}
        self._finish: FinishReason | None = None
        self.usage = Usage()
        self.id: str | None = None
        self.finished = False

    def feed(self, name: str, event: dict[str, Any]) -> Iterator[StreamEvent]:
        kind = event.get("type") or name
        handler = self._HANDLERS.get(str(kind))
        if handler is not None:
            yield from handler(self, event)

    def _start(self, event: dict[str, Any]) -> Iterator[StreamEvent]:
        self.id = self.id or event.get("id")
        return iter(())

    def _content(self, event: dict[str, Any]) -> Iterator[StreamEvent]:
        content = obj(_message(event), "content")
        if isinstance(content.get("thinking"), str) and content["thinking"]:
            self._reasoning.append(content["thinking"])
            yield ReasoningDelta(content["thinking"])
        if isinstance(content.get("text"), str) and content["text"]:
            self._text.append(content["text"])
            yield TextDelta(content["text"])

    def _plan(self, event: dict[str, Any]) -> Iterator[StreamEvent]:
        plan = _message(event).get("tool_plan")
        if isinstance(plan, str) and plan:
            self._text.append(plan)
            yield TextDelta(plan)

    def _call_start(self, event: dict[str, Any]) -> Iterator[StreamEvent]:
        raw = obj(_message(event), "tool_calls")
        function = obj(raw, "function")
        pending = _PendingCall(id=str(raw.get("id") or ""), name=str(function.get("name") or ""))
        if isinstance(function.get("arguments"), str):
            pending.arguments.append(function["arguments"])
        self._pending[self._index(event)] = pending
        return iter(())

    def _call_delta(self, event: dict[str, Any]) -> Iterator[StreamEvent]:
        function = obj(obj(_message(event), "tool_calls"), "function")
        pending = self._pending.setdefault(self._index(event), _PendingCall())
        if isinstance(function.get("arguments"), str):
            pending.arguments.append(function["arguments"])
        return iter(())

    def _call_end(self, event: dict[str, Any]) -> Iterator[StreamEvent]:
        pending = self._pending.pop(self._index(event), None)
        if pending is not None:
            yield self._complete(pending)

    def _end(self, event: dict[str, Any]) -> Iterator[StreamEvent]:
        delta = obj(event, "delta")
        self._finish = finish_reason(delta.get("finish_reason"), self._provider, delta.get("error"))
        if delta.get("usage") is not None:
            self.usage = usage_from_cohere(delta["usage"])
        for index in sorted(self._pending):
            yield self._complete(self._pending.pop(index))
        self.finished = True

    _HANDLERS: ClassVar[dict[str, Callable[[StreamAccumulator, dict[str, Any]], Iterator[StreamEvent]]]] = {
        "message-start": _start,
        "content-start": _content,
        "content-delta": _content,
        "tool-plan-delta": _plan,
        "tool-call-start": _call_start,
        "tool-call-delta": _call_delta,
        "tool-call-end": _call_end,
        "message-end": _end,
    }

    def _index(self, event: dict[str, Any]) -> int:
        index = event.get("index")
        return index if isinstance(index, int) and not isinstance(index, bool) else len(self._calls)

    def _complete(self, pending: _PendingCall) -> ToolCallEvent:
        position = len(self._calls)
        call = ToolCall(id=pending.id or f"call_{position}", name=pending.name,
                        arguments="".join(pending.arguments) or "{}")
        self._calls.append(call)
        return ToolCallEvent(call, position)

    def result(self) -> ChatResult:
        reason = self._finish or ("tool_calls" if self._calls else "stop")
        if self._calls and reason == "stop":
            reason = "tool_calls"
        content = "".join(self._text) if self._text or not self._calls else None
        choice = Choice(index=0, content=content, tool_calls=tuple(self._calls), finish_reason=reason,
                        reasoning="".join(self._reasoning) or None)
        return ChatResult(choices=(choice,), usage=self.usage, provider_request_id=self.id)



class ChatDecoder:
    """The ``StreamDecoder`` of a v2 Chat stream (for ``relay_stream``): ``message-end`` ends it (so
    does a ``[DONE]``, which some proxies add), and a stream is complete only with ``message-end``."""

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._done = False
        self.accumulator = StreamAccumulator(provider)

    def feed(self, event: ServerSentEvent) -> Iterable[StreamEvent]:
        if event.data == "[DONE]":
            self._done = True
            return ()
        return self.accumulator.feed(event.event, event_object(event.data, self._provider))

    @property
    def ended(self) -> bool:
        return self._done or self.accumulator.finished

    @property
    def complete(self) -> bool:
        return self.accumulator.finished

    def close(self) -> Iterable[StreamEvent]:
        return ()

    def result(self) -> ChatResult:
        return self.accumulator.result()
