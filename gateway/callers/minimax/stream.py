"""MiniMax stream events -> neutral stream events.

Reference: MiniMax docs, "OpenAI API compatible" (streaming example). What
differs from OpenAI, as MiniMax sends it:

* reasoning comes inline in ``delta.content`` as ``<think>...</think>`` (tags
  may be cut between events: a ``ThinkSplitter`` per choice routes it to
  ``ReasoningDelta``), or, with ``reasoning_split``, in
  ``delta.reasoning_details[].text`` - incremental in practice although the
  docs' example treats it as cumulative, so a text that repeats what came before
  only contributes its new tail;
* earlier events may carry zero-valued ``usage`` placeholders; the stream closes
  with a ``chat.completion`` object whose choices have ``message`` (the whole
  answer again) instead of ``delta`` and the real usage. That message is used
  only for a choice that received no delta at all;
* an event with a non-zero ``base_resp`` is an error.

Tool calls are assembled from fragments and emitted once each, complete: a
fragment with a new ``index`` or a new ``id`` starts the next call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway.callers.minimax.response import reasoning_fields
from gateway.callers.minimax.think import ThinkSplitter
from gateway.callers.minimax.wire import error_in_body
from gateway.callers.openai.response import finish_reason, usage_from_openai
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
    index: int | None
    id: str
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _ChoiceState:
    splitter: ThinkSplitter = field(default_factory=ThinkSplitter)
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    details: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    pending: _PendingCall | None = None
    finish: FinishReason | None = None
    received: bool = False


def _has_tokens(usage: Any) -> bool:
    return isinstance(usage, dict) and any(
        isinstance(usage.get(k), int) and usage[k] > 0 for k in ("prompt_tokens", "completion_tokens", "total_tokens"))


def _starts_new_call(pending: _PendingCall, index: Any, call_id: Any) -> bool:
    if isinstance(index, int) and pending.index is not None and index != pending.index:
        return True
    return bool(call_id) and bool(pending.id) and call_id != pending.id


class MiniMaxStreamAccumulator:
    """Feed each parsed event to ``feed`` and forward what it yields; at the end
    forward ``close()`` and build the ``StreamEnd`` payload with ``result()``."""

    def __init__(self) -> None:
        self._choices: dict[int, _ChoiceState] = {}
        self.usage = Usage()
        self.model: str | None = None
        self.id: str | None = None
        self.blocked = False

    def feed(self, event: dict[str, Any]) -> Iterator[StreamEvent]:
        """Raises the mapped ``GatewayError`` for an error event."""
        error = error_in_body(event)
        if error is not None:
            raise error
        self.id = self.id or event.get("id")
        self.model = event.get("model") or self.model
        self.blocked = self.blocked or event.get("output_sensitive") is True
        if _has_tokens(event.get("usage")):
            self.usage = usage_from_openai(event["usage"])
        for raw in event.get("choices") or ():
            index = int(raw.get("index", 0))
            state = self._choices.setdefault(index, _ChoiceState())
            if isinstance(raw.get("delta"), dict):
                yield from self._delta(index, state, raw["delta"])
            elif isinstance(raw.get("message"), dict) and not state.received:
                yield from self._delta(index, state, raw["message"])
            if raw.get("finish_reason"):
                state.finish = finish_reason(raw["finish_reason"])
                yield from self._end(index, state)

    def _delta(self, index: int, state: _ChoiceState, delta: dict[str, Any]) -> Iterator[StreamEvent]:
        state.received = True
        inline = delta.get("reasoning_content")
        yield from self._reasoning(index, state, self._new_details(state, delta),
                                   inline if isinstance(inline, str) else "")
        content = delta.get("content")
        if isinstance(content, str) and content:
            yield from self._emit(index, state, *state.splitter.feed(content))
        for fragment in delta.get("tool_calls") or ():
            yield from self._fragment(index, state, fragment)

    @staticmethod
    def _new_details(state: _ChoiceState, delta: dict[str, Any]) -> str:
        text = reasoning_fields({"reasoning_details": delta.get("reasoning_details")})
        if not text:
            return ""
        if state.details and text.startswith(state.details):
            new, state.details = text[len(state.details):], text
            return new
        state.details += text
        return text

    @staticmethod
    def _reasoning(index: int, state: _ChoiceState, *texts: str) -> Iterator[StreamEvent]:
        for text in texts:
            if text:
                state.reasoning.append(text)
                yield ReasoningDelta(text, index)

    def _emit(self, index: int, state: _ChoiceState, reasoning: str, text: str) -> Iterator[StreamEvent]:
        yield from self._reasoning(index, state, reasoning)
        if text:
            state.text.append(text)
            yield TextDelta(text, index)

    def _fragment(self, index: int, state: _ChoiceState, fragment: dict[str, Any]) -> Iterator[StreamEvent]:
        position, call_id = fragment.get("index"), fragment.get("id")
        pending = state.pending
        if pending is None or _starts_new_call(pending, position, call_id):
            yield from self._flush(index, state)
            pending = state.pending = _PendingCall(position if isinstance(position, int) else None, "")
        pending.id = pending.id or str(call_id or "")
        function = fragment.get("function") or {}
        pending.name = pending.name or str(function.get("name") or "")
        if function.get("arguments"):
            pending.arguments.append(str(function["arguments"]))

    def _flush(self, index: int, state: _ChoiceState) -> Iterator[StreamEvent]:
        pending, state.pending = state.pending, None
        if pending is None:
            return
        call = ToolCall(id=pending.id or f"call_{index}_{len(state.calls)}", name=pending.name,
                        arguments="".join(pending.arguments) or "{}")
        state.calls.append(call)
        yield ToolCallEvent(call, len(state.calls) - 1, index)

    def _end(self, index: int, state: _ChoiceState) -> Iterator[StreamEvent]:
        yield from self._emit(index, state, *state.splitter.close())
        yield from self._flush(index, state)

    def close(self) -> Iterator[StreamEvent]:
        """Emit what is still held back or pending when the stream ends."""
        for index, state in self._choices.items():
            yield from self._end(index, state)

    @property
    def finished(self) -> bool:
        return bool(self._choices) and all(s.finish is not None for s in self._choices.values())

    def result(self) -> ChatResult:
        choices = tuple(
            Choice(
                index=index,
                content="".join(state.text) if state.text or not state.calls else None,
                tool_calls=tuple(state.calls),
                finish_reason="content_filter" if self.blocked else (
                    state.finish or ("tool_calls" if state.calls else "stop")),
                reasoning="".join(state.reasoning) or None,
            )
            for index, state in sorted(self._choices.items())
        )
        return ChatResult(choices=choices or (Choice(),), usage=self.usage, model=self.model,
                          provider_request_id=self.id)
