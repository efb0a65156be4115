"""Mistral stream chunks -> neutral stream events.

Reference: Mistral API, ``CompletionChunk`` (``data:`` events ended by
``data: [DONE]``; usage on the last chunk). Unlike OpenAI, Mistral sends each
tool call whole in one fragment and does not number them reliably (``index``
is often 0 for every call), so a fragment that names a function starts a new
call and a fragment without a name continues the current one. A call is
emitted once, complete, when the next one starts, when its choice finishes,
or when the stream ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway.callers.mistral.response import arguments_text, finish_reason, split_content
from gateway.callers.openai.response import usage_from_openai
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
    id: str
    name: str
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _ChoiceState:
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    pending: _PendingCall | None = None
    finish: FinishReason | None = None


class MistralStreamAccumulator:
    """Feed each parsed chunk to ``feed`` and forward what it yields; at the end
    forward ``close()`` and build the ``StreamEnd`` payload with ``result()``."""

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._choices: dict[int, _ChoiceState] = {}
        self.usage = Usage()
        self.model: str | None = None
        self.id: str | None = None

    def feed(self, chunk: dict[str, Any]) -> Iterator[StreamEvent]:
        self.id = self.id or chunk.get("id")
        self.model = chunk.get("model") or self.model
        if chunk.get("usage"):
            self.usage = usage_from_openai(chunk["usage"])
        for raw in chunk.get("choices") or ():
            index = int(raw.get("index", 0))
            state = self._choices.setdefault(index, _ChoiceState())
            yield from self._delta(index, state, raw.get("delta") or {})
            reason = finish_reason(raw.get("finish_reason"), self._provider)
            if reason is not None:
                state.finish = reason
                yield from self._flush(index, state)

    def _delta(self, index: int, state: _ChoiceState, delta: dict[str, Any]) -> Iterator[StreamEvent]:
        text, reasoning = split_content(delta.get("content"))
        if reasoning:
            state.reasoning.append(reasoning)
            yield ReasoningDelta(reasoning, index)
        if text:
            state.text.append(text)
            yield TextDelta(text, index)
        for fragment in delta.get("tool_calls") or ():
            yield from self._fragment(index, state, fragment)

    def _fragment(self, index: int, state: _ChoiceState, fragment: dict[str, Any]) -> Iterator[StreamEvent]:
        function = fragment.get("function") or {}
        name = function.get("name")
        pending = state.pending
        if name or pending is None:
            yield from self._flush(index, state)
            call_id = fragment.get("id")
            if not isinstance(call_id, str) or not call_id or call_id == "null":
                call_id = f"call{index}x{len(state.calls):03d}"
            pending = state.pending = _PendingCall(call_id, str(name or ""))
        arguments = function.get("arguments")
        if arguments:
            pending.arguments.append(arguments_text(arguments))

    def _flush(self, index: int, state: _ChoiceState) -> Iterator[StreamEvent]:
        pending, state.pending = state.pending, None
        if pending is None:
            return
        call = ToolCall(id=pending.id, name=pending.name, arguments="".join(pending.arguments) or "{}")
        state.calls.append(call)
        yield ToolCallEvent(call, len(state.calls) - 1, index)

    def close(self) -> Iterator[StreamEvent]:
        """Emit tool calls still pending when the stream ends."""
        for index, state in self._choices.items():
            yield from self._flush(index, state)

    @property
    def finished(self) -> bool:
        """Every choice seen so far reported a finish reason."""
        return bool(self._choices) and all(s.finish is not None for s in self._choices.values())

    def result(self) -> ChatResult:
        choices = tuple(
            Choice(
                index=index,
                content="".join(state.text) if state.text or not state.calls else None,
                tool_calls=tuple(state.calls),
                finish_reason=state.finish or ("tool_calls" if state.calls else "stop"),
                reasoning="".join(state.reasoning) or None,
            )
            for index, state in sorted(self._choices.items())
        )
        return ChatResult(choices=choices or (Choice(),), usage=self.usage, model=self.model,
                          provider_request_id=self.id)
