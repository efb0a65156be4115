"""``GenerateContentResponse`` (whole, or each streamed chunk) -> neutral results.

Reference: Gemini API reference "Generating content" -> ``GenerateContentResponse``,
``Candidate``, ``FinishReason``, ``UsageMetadata``, ``PromptFeedback``
(https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse).

One accumulator serves both paths: a non-streaming answer is one chunk. Per
candidate: text parts are the content, parts with ``thought: true`` are
reasoning, ``functionCall`` parts (always whole, also in streams) are tool calls,
emitted at once. The ``finishReason`` maps to OpenAI's: STOP -> stop (tool_calls
when the candidate called functions), MAX_TOKENS -> length, the safety family ->
content_filter, anything else -> stop.

A prompt blocked before generation (``promptFeedback.blockReason``, no
candidates) is answered with one empty choice whose finish reason is
``content_filter`` - a 200, as OpenAI reports filtered output - rather than an error.

Usage (``usageMetadata``, cumulative; the last chunk has the totals): input =
``promptTokenCount`` + ``toolUsePromptTokenCount``; output =
``candidatesTokenCount`` + ``thoughtsTokenCount`` (Gemini counts thoughts apart,
and bills them as output); reasoning = ``thoughtsTokenCount``; cached =
``cachedContentTokenCount``; total = ``totalTokenCount``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.callers.gemini.calls import generated_id, make_call_id
from gateway.callers.http import malformed
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

FINISH_REASONS: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MODEL_ARMOR": "content_filter",
}


def _count(meta: dict[str, Any], name: str) -> int | None:
    value = meta.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sum(*values: int | None) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def usage_from_gemini(meta: Any) -> Usage:
    if not isinstance(meta, dict):
        return Usage()
    thoughts = _count(meta, "thoughtsTokenCount")
    return Usage(
        input_tokens=_sum(_count(meta, "promptTokenCount"), _count(meta, "toolUsePromptTokenCount")),
        output_tokens=_sum(_count(meta, "candidatesTokenCount"), thoughts),
        total_tokens=_count(meta, "totalTokenCount"),
        cached_input_tokens=_count(meta, "cachedContentTokenCount"),
        reasoning_tokens=thoughts,
    )


@dataclass(slots=True)
class _Candidate:
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    finish: str | None = None

    def finish_reason(self) -> FinishReason:
        mapped = FINISH_REASONS.get(self.finish or "STOP", "stop")
        return "tool_calls" if mapped == "stop" and self.calls else mapped


class ResponseAccumulator:
    """Feed each response chunk to ``feed`` and forward what it yields; ``result``
    gives the whole completion. ``finished`` tells whether the answer is complete
    (every candidate reported a finish reason, or the prompt was blocked)."""

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._candidates: dict[int, _Candidate] = {}
        self.usage = Usage()
        self.model: str | None = None
        self.response_id: str | None = None
        self.block_reason: str | None = None

    def feed(self, chunk: dict[str, Any]) -> Iterator[StreamEvent]:
        self.model = chunk.get("modelVersion") or self.model
        self.response_id = chunk.get("responseId") or self.response_id
        if chunk.get("usageMetadata"):
            self.usage = usage_from_gemini(chunk["usageMetadata"])
        feedback = chunk.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            self.block_reason = str(feedback["blockReason"])
        candidates = chunk.get("candidates") or []
        if not isinstance(candidates, list):
            raise malformed(self._provider, "'candidates' is not a list")
        for position, raw in enumerate(candidates):
            if not isinstance(raw, dict):
                raise malformed(self._provider, "a candidate is not an object")
            index = raw["index"] if isinstance(raw.get("index"), int) else position  # proto3 JSON omits 0
            state = self._candidates.setdefault(index, _Candidate())
            content = raw.get("content") or {}
            yield from self._parts(index, state, content.get("parts") or ())
            if raw.get("finishReason"):
                state.finish = str(raw["finishReason"])

    def _parts(self, index: int, state: _Candidate, parts: Any) -> Iterator[StreamEvent]:
        for part in parts:
            if not isinstance(part, dict):
                raise malformed(self._provider, "a content part is not an object")
            if isinstance(part.get("functionCall"), dict):
                call = self._tool_call(index, len(state.calls), part)
                state.calls.append(call)
                yield ToolCallEvent(call, len(state.calls) - 1, index)
                continue
            text = part.get("text")
            if not isinstance(text, str) or not text:
                continue
            if part.get("thought") is True:
                state.reasoning.append(text)
                yield ReasoningDelta(text, index)
            else:
                state.text.append(text)
                yield TextDelta(text, index)

    def _tool_call(self, index: int, position: int, part: dict[str, Any]) -> ToolCall:
        function = part["functionCall"]
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise malformed(self._provider, "a functionCall has no name")
        args = function.get("args")
        base = function.get("id") if isinstance(function.get("id"), str) and function["id"] else None
        signature = part.get("thoughtSignature") if isinstance(part.get("thoughtSignature"), str) else None
        return ToolCall(
            id=make_call_id(base or generated_id(index, position), signature),
            name=name,
            arguments=orjson.dumps(args if isinstance(args, dict) else {}).decode(),
        )

    @property
    def finished(self) -> bool:
        if not self._candidates:
            return self.block_reason is not None
        return all(state.finish is not None for state in self._candidates.values())

    def result(self) -> ChatResult:
        choices = tuple(
            Choice(
                index=index,
                content="".join(state.text) if state.text or not state.calls else None,
                tool_calls=tuple(state.calls),
                finish_reason=state.finish_reason(),
                reasoning="".join(state.reasoning) or None,
            )
            for index, state in sorted(self._candidates.items())
        )
        if not choices:
            choices = (Choice(index=0, content="", finish_reason="content_filter"),)
        return ChatResult(choices=choices, usage=self.usage, model=self.model, provider_request_id=self.response_id)


def from_gemini(body: Any, provider: str) -> ChatResult:
    """A whole ``generateContent`` answer."""
    if not isinstance(body, dict):
        raise malformed(provider, "the answer is not an object")
    accumulator = ResponseAccumulator(provider)
    for _ in accumulator.feed(body):
        pass
    if not body.get("candidates") and accumulator.block_reason is None:
        raise malformed(provider, "no candidates and no block reason")
    return accumulator.result()
