"""Anthropic Messages stream events -> neutral stream events.

Reference: Anthropic API docs, "Streaming Messages". A stream is ``message_start``
(id, model, prompt usage), then per content block ``content_block_start``,
``content_block_delta``s (``text_delta``, ``input_json_delta``, ``thinking_delta``)
and ``content_block_stop``; then ``message_delta`` (``stop_reason`` and cumulative
usage) and ``message_stop``. ``ping`` events may appear anywhere, an ``error``
event ends the stream, and unknown event types are to be ignored.

Each tool call is emitted exactly once, complete, at its ``content_block_stop``;
a block that is stopped is forgotten, so no later event can emit it again. (A tool
block still open at ``message_stop`` is emitted there, once.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.callers.anthropic.errors import stream_error
from gateway.callers.anthropic.response import finish_reason, usage_from_anthropic
from gateway.callers.http import ServerSentEvent, malformed
from gateway.core.messages import ToolCall
from gateway.core.results import (
    ChatResult,
    Choice,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallEvent,
)


@dataclass(slots=True)
class _ToolBlock:
    id: str
    name: str
    initial: Any
    fragments: list[str] = field(default_factory=list)

    def call(self) -> ToolCall:
        arguments = "".join(self.fragments) or orjson.dumps(self.initial or {}).decode()
        return ToolCall(id=self.id, name=self.name, arguments=arguments)


class EventAccumulator:
    """Feed ``(event type, parsed data)`` pairs to ``feed`` and forward what it yields.

    ``feed`` raises the mapped ``GatewayError`` for an ``error`` event and
    ``UpstreamError`` for events that break the protocol. ``finished`` is true
    once ``message_stop`` arrived; ``result`` builds the ``StreamEnd`` payload.
    """

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: list[ToolCall] = []
        self._tools: dict[int, _ToolBlock] = {}
        self._kinds: dict[int, str] = {}
        self._usage: dict[str, Any] = {}
        self._stop_reason: str | None = None
        self.id: str | None = None
        self.model: str | None = None
        self.finished = False

    def feed(self, kind: str, data: Any) -> Iterator[StreamEvent]:
        if not isinstance(data, dict):
            raise malformed(self._provider, f"a '{kind}' event is not an object")
        declared = data.get("type")
        if isinstance(declared, str):
            kind = declared
        if kind == "error":
            raise stream_error(data, self._provider)
        if kind == "message_start":
            self._start(data.get("message"))
        elif kind == "content_block_start":
            yield from self._block_start(data)
        elif kind == "content_block_delta":
            yield from self._block_delta(data)
        elif kind == "content_block_stop":
            yield from self._block_stop(data)
        elif kind == "message_delta":
            delta = data.get("delta") or {}
            self._stop_reason = delta.get("stop_reason") or self._stop_reason
            self._merge_usage(data.get("usage"))
        elif kind == "message_stop":
            self.finished = True
            for index in sorted(self._tools):
                yield from self._block_stop({"index": index})

    def _start(self, message: Any) -> None:
        if not isinstance(message, dict):
            raise malformed(self._provider, "'message_start' has no message")
        self.id = message.get("id") or self.id
        self.model = message.get("model") or self.model
        self._merge_usage(message.get("usage"))

    def _merge_usage(self, usage: Any) -> None:
        """Usage values are cumulative: a later non-null value replaces an earlier one."""
        if isinstance(usage, dict):
            self._usage.update({k: v for k, v in usage.items() if v is not None})

    def _index(self, data: dict[str, Any]) -> int:
        index = data.get("index")
        if not isinstance(index, int):
            raise malformed(self._provider, "a content block event has no index")
        return index

    def _block_start(self, data: dict[str, Any]) -> Iterator[StreamEvent]:
        index = self._index(data)
        block = data.get("content_block") or {}
        kind = str(block.get("type") or "")
        self._kinds[index] = kind
        if kind == "tool_use":
            self._tools[index] = _ToolBlock(str(block.get("id") or ""), str(block.get("name") or ""),
                                            block.get("input"))
        elif kind == "text" and block.get("text"):
            yield from self._add_text(str(block["text"]))
        elif kind == "thinking" and block.get("thinking"):
            yield from self._add_reasoning(str(block["thinking"]))

    def _block_delta(self, data: dict[str, Any]) -> Iterator[StreamEvent]:
        index = self._index(data)
        if index not in self._kinds:
            raise malformed(self._provider, f"a delta for content block {index}, which never started")
        delta = data.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            yield from self._add_text(str(delta["text"]))
        elif kind == "thinking_delta" and delta.get("thinking"):
            yield from self._add_reasoning(str(delta["thinking"]))
        elif kind == "input_json_delta" and index in self._tools:
            self._tools[index].fragments.append(str(delta.get("partial_json") or ""))

    def _block_stop(self, data: dict[str, Any]) -> Iterator[StreamEvent]:
        tool = self._tools.pop(self._index(data), None)
        if tool is not None:
            call = tool.call()
            self._calls.append(call)
            yield ToolCallEvent(call, len(self._calls) - 1, 0)

    def _add_text(self, text: str) -> Iterator[StreamEvent]:
        self._text.append(text)
        yield TextDelta(text, 0)

    def _add_reasoning(self, text: str) -> Iterator[StreamEvent]:
        self._reasoning.append(text)
        yield ReasoningDelta(text, 0)

    def result(self) -> ChatResult:
        calls = tuple(self._calls)
        choice = Choice(
            index=0,
            content="".join(self._text) if self._text or not calls else None,
            tool_calls=calls,
            finish_reason=finish_reason(self._stop_reason, bool(calls)),
            reasoning="".join(self._reasoning) or None,
        )
        return ChatResult(choices=(choice,), usage=usage_from_anthropic(self._usage), model=self.model,
                          provider_request_id=self.id)


def parse_event(data: str, provider: str) -> Any:
    """One event's JSON; raises ``UpstreamError`` (malformed) if it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise malformed(provider, "a stream event is not JSON") from exc


class MessagesDecoder:
    """The ``StreamDecoder`` of a Messages stream (for ``relay_stream``): ``message_stop`` ends it,
    and a stream is complete only with it."""

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self.accumulator = EventAccumulator(provider)

    def feed(self, event: ServerSentEvent) -> Iterable[StreamEvent]:
        return self.accumulator.feed(event.event, parse_event(event.data, self._provider))

    @property
    def ended(self) -> bool:
        return self.accumulator.finished

    @property
    def complete(self) -> bool:
        return self.accumulator.finished

    def close(self) -> Iterable[StreamEvent]:
        return ()

    def result(self) -> ChatResult:
        return self.accumulator.result()
