"""``LargeLanguageCaller`` for the Anthropic Messages API (POST /v1/messages)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson

from gateway.callers.anthropic.errors import parse_anthropic_error, stream_error
from gateway.callers.anthropic.request import to_anthropic_chat
from gateway.callers.anthropic.response import from_anthropic_message
from gateway.callers.anthropic.stream import EventAccumulator
from gateway.callers.anthropic.wire import MESSAGES_PATH, AnthropicWire
from gateway.callers.base import CallerContext, ChatCompletionOptions
from gateway.callers.http import iter_sse, malformed, open_stream, request_json
from gateway.core.messages import Message
from gateway.core.results import ChatResult, StreamEnd, StreamEvent
from gateway.errors import UpstreamError


class AnthropicLargeLanguageCaller:
    def __init__(self, ctx: CallerContext, wire: AnthropicWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def get_chat_completion(self, messages: Sequence[Message], options: ChatCompletionOptions) -> ChatResult:
        wire = self._wire
        body = to_anthropic_chat(messages, options, wire.provider, stream=False)
        options.before(body)
        data, _ = await request_json(
            self._ctx.http, "POST", wire.url(MESSAGES_PATH), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=wire.headers, json=body, parse_error=parse_anthropic_error,
        )
        options.after(data)
        if isinstance(data, dict) and data.get("type") == "error":
            raise stream_error(data, wire.provider)
        return from_anthropic_message(data, wire.provider)

    async def stream_chat_completion(
        self, messages: Sequence[Message], options: ChatCompletionOptions
    ) -> AsyncIterator[StreamEvent]:
        """Text and reasoning deltas as they arrive, each tool call once at its block's
        end, then one ``StreamEnd``. A stream without ``message_stop`` raises
        ``UpstreamError`` (truncated); an ``error`` event raises its mapped error."""
        wire = self._wire
        body = to_anthropic_chat(messages, options, wire.provider, stream=True)
        options.before(body)
        accumulator = EventAccumulator(wire.provider)
        async with open_stream(
            self._ctx.http, "POST", wire.url(MESSAGES_PATH), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=wire.headers, json=body, parse_error=parse_anthropic_error,
        ) as response:
            async for event in iter_sse(response, wire.provider):
                for item in accumulator.feed(event.event, _parse(event.data, wire.provider)):
                    yield item
                if accumulator.finished:
                    break
        if not accumulator.finished:
            raise UpstreamError(f"{wire.provider}: the stream ended before 'message_stop'.",
                                code="upstream_stream_truncated", provider=wire.provider)
        result = accumulator.result()
        options.after(dataclasses.asdict(result))
        yield StreamEnd(result)


def _parse(data: str, provider: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise malformed(provider, "a stream event is not JSON") from exc
