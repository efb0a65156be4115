"""OpenAI Chat Completions response and stream chunks -> neutral results.

Reference: OpenAI API, "The chat completion object" and "The chat completion
chunk object". Tool-call fragments are accumulated per (choice, tool index) and
emitted once each, complete: when the next call of the same choice starts,
when the choice finishes, or when the stream ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from gateway.callers.http import malformed
from gateway.callers.shapes import ShapeError, check, fields, objects
from gateway.core.json import JSONValue
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

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "function_call": "tool_calls",
    "eos": "stop",
}


def finish_reason(value: Any) -> FinishReason | None:
    if value is None:
        return None
    return _FINISH.get(str(value), "stop")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage_from_openai(usage: Any) -> Usage:
    if not isinstance(usage, dict):
        return Usage()
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=_int(usage.get("prompt_tokens")),
        output_tokens=_int(usage.get("completion_tokens")),
        total_tokens=_int(usage.get("total_tokens")),
        cached_input_tokens=_int(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else None,
        reasoning_tokens=(
            _int(completion_details.get("reasoning_tokens")) if isinstance(completion_details, dict) else None
        ),
    )


def _tool_calls(raw: Any) -> tuple[ToolCall, ...]:
    calls: list[ToolCall] = []
    for item in raw or ():
        function = item.get("function") or {}
        calls.append(
            ToolCall(id=str(item.get("id") or ""), name=str(function.get("name") or ""),
                     arguments=function.get("arguments") or "{}")
        )
    return tuple(calls)


_STR = (str,)


def check_completion(body: dict[str, Any]) -> None:
    """Check the fields of a ``chat.completion`` object that ``from_openai_chat`` relies on;
    raises ``ShapeError``."""
    fields(body, "completion", id=_STR, model=_STR, system_fingerprint=_STR, service_tier=_STR)
    for position, choice in enumerate(objects(body.get("choices"), "completion.choices")):
        where = f"completion.choices[{position}]"
        fields(choice, where, index=(int,), finish_reason=_STR, message=(dict,))
        message = choice.get("message")
        if message is None:
            continue
        where += ".message"
        fields(message, where, content=_STR, refusal=_STR, reasoning_content=_STR, reasoning=_STR)
        for number, call in enumerate(objects(message.get("tool_calls"), where + ".tool_calls")):
            at = f"{where}.tool_calls[{number}]"
            check(call.get("function"), (dict,), at + ".function")
            fields(call.get("function") or {}, at + ".function", name=_STR, arguments=_STR)


def from_openai_chat(body: Any, provider: str) -> ChatResult:
    """A whole ``chat.completion`` object as a neutral result; raises ``UpstreamError`` (malformed)
    when it fails its typed check (``check_completion``)."""
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        raise malformed(provider, "no 'choices' in the completion")
    try:
        check_completion(body)
    except ShapeError as exc:
        raise malformed(provider, "the completion has an unexpected shape") from exc
    choices: list[Choice] = []
    for raw in body["choices"]:
        message = raw.get("message") or {}
        choices.append(
            Choice(
                index=int(raw.get("index", len(choices))),
                content=message.get("content"),
                tool_calls=_tool_calls(message.get("tool_calls")),
                finish_reason=finish_reason(raw.get("finish_reason")) or "stop",
                refusal=message.get("refusal"),
                reasoning=message.get("reasoning_content") or message.get("reasoning"),
                logprobs=cast(JSONValue, raw.get("logprobs")),
            )
        )
    return ChatResult(
        choices=tuple(choices),
        usage=usage_from_openai(body.get("usage")),
        model=body.get("model"),
        provider_request_id=body.get("id"),
        system_fingerprint=body.get("system_fingerprint"),
        service_tier=body.get("service_tier"),
    )


@dataclass(slots=True)
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _ChoiceState:
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    pending: dict[int, _PendingCall] = field(default_factory=dict)
    finish: FinishReason | None = None


class ChunkAccumulator:
    """Turns parsed ``chat.completion.chunk`` objects into neutral stream events.

    Feed each chunk to ``feed`` and forward what it yields; call ``result`` once
    at the end for the ``StreamEnd`` payload. ``finished`` tells whether every
    choice seen so far reported a finish reason (a stream cut short does not).
    """

    def __init__(self) -> None:
        self._choices: dict[int, _ChoiceState] = {}
        self.usage = Usage()
        self.model: str | None = None
        self.id: str | None = None
        self.system_fingerprint: str | None = None
        self.service_tier: str | None = None

    def _state(self, index: int) -> _ChoiceState:
        state = self._choices.get(index)
        if state is None:
            state = self._choices[index] = _ChoiceState()
        return state

    def feed(self, chunk: dict[str, Any]) -> Iterator[StreamEvent]:
        self.id = self.id or chunk.get("id")
        self.model = chunk.get("model") or self.model
        self.system_fingerprint = chunk.get("system_fingerprint") or self.system_fingerprint
        self.service_tier = chunk.get("service_tier") or self.service_tier
        if chunk.get("usage"):
            self.usage = usage_from_openai(chunk["usage"])
        for raw in chunk.get("choices") or ():
            index = int(raw.get("index", 0))
            state = self._state(index)
            delta = raw.get("delta") or {}
            yield from self._delta(index, state, delta, raw.get("logprobs"))
            if raw.get("finish_reason"):
                state.finish = finish_reason(raw["finish_reason"])
                yield from self._flush(index, state, up_to=None)

    def _delta(self, index: int, state: _ChoiceState, delta: dict[str, Any], logprobs: Any) -> Iterator[StreamEvent]:
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            state.reasoning.append(reasoning)
            yield ReasoningDelta(reasoning, index)
        content = delta.get("content")
        if content:
            state.text.append(content)
            yield TextDelta(content, index, cast(JSONValue, logprobs))
        if delta.get("refusal"):
            state.refusal.append(delta["refusal"])
        for fragment in delta.get("tool_calls") or ():
            position = int(fragment.get("index", len(state.calls)))
            if position not in state.pending:
                yield from self._flush(index, state, up_to=position)
                state.pending[position] = _PendingCall()
            pending = state.pending[position]
            pending.id = pending.id or fragment.get("id") or ""
            function = fragment.get("function") or {}
            pending.name = pending.name or function.get("name") or ""
            if function.get("arguments"):
                pending.arguments.append(function["arguments"])

    def _flush(self, index: int, state: _ChoiceState, up_to: int | None) -> Iterator[StreamEvent]:
        for position in sorted(state.pending):
            if up_to is not None and position >= up_to:
                break
            pending = state.pending.pop(position)
            call = ToolCall(
                id=pending.id or f"call_{index}_{position}",
                name=pending.name,
                arguments="".join(pending.arguments) or "{}",
            )
            state.calls.append(call)
            yield ToolCallEvent(call, len(state.calls) - 1, index)

    def close(self) -> Iterator[StreamEvent]:
        """Emit tool calls still pending when the stream ends."""
        for index, state in self._choices.items():
            yield from self._flush(index, state, up_to=None)

    @property
    def finished(self) -> bool:
        return bool(self._choices) and all(s.finish is not None for s in self._choices.values())

    def result(self) -> ChatResult:
        choices = tuple(
            Choice(
                index=index,
                content="".join(state.text) if state.text or not state.calls else None,
                tool_calls=tuple(state.calls),
                finish_reason=state.finish or ("tool_calls" if state.calls else "stop"),
                refusal="".join(state.refusal) or None,
                reasoning="".join(state.reasoning) or None,
            )
            for index, state in sorted(self._choices.items())
        )
        return ChatResult(
            choices=choices or (Choice(),),
            usage=self.usage,
            model=self.model,
            provider_request_id=self.id,
            system_fingerprint=self.system_fingerprint,
            service_tier=self.service_tier,
        )
