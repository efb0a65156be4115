"""``LargeLanguageCaller`` for Cohere's v2 Chat API (POST /v2/chat)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson

from gateway.callers.base import CallerContext, ChatCompletionOptions
from gateway.callers.cohere.request import to_cohere_chat
from gateway.callers.cohere.response import from_cohere_chat
from gateway.callers.cohere.stream import StreamAccumulator
from gateway.callers.cohere.wire import CohereWire, parse_cohere_error
from gateway.callers.http import iter_sse, malformed, open_stream, request_json
from gateway.core.messages import Message
from gateway.core.results import ChatResult, StreamEnd, StreamEvent
from gateway.errors import UpstreamError

CHAT_PATH = "v2/chat"


class CohereLargeLanguageCaller:
    def __init__(self, ctx: CallerContext, wire: CohereWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def get_chat_completion(self, messages: Sequence[Message], options: ChatCompletionOptions) -> ChatResult:
        wire = self._wire
        body = to_cohere_chat(messages, options, stream=False)
        options.before(body)
        data, _ = await request_json(
            self._ctx.http, "POST", wire.url(CHAT_PATH), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=wire.headers, json=body, parse_error=parse_cohere_error,
        )
        options.after(data)
        return from_cohere_chat(data, wire.provider)

    async def stream_chat_completion(
        self, messages: Sequence[Message], options: ChatCompletionOptions
    ) -> AsyncIterator[StreamEvent]:
        """Raises ``UpstreamError`` if the stream ends without ``message-end`` (truncated)."""
        wire = self._wire
        body = to_cohere_chat(messages, options, stream=True)
        options.before(body)
        accumulator = StreamAccumulator(wire.provider)
        async with open_stream(
            self._ctx.http, "POST", wire.url(CHAT_PATH), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=wire.headers, json=body, parse_error=parse_cohere_error,
        ) as response:
            async for event in iter_sse(response, wire.provider):
                if event.data == "[DONE]":
                    break
                for item in accumulator.feed(event.event, _parse_event(event.data, wire.provider)):
                    yield item
                if accumulator.finished:
                    break
        if not accumulator.finished:
            raise UpstreamError(f"{wire.provider}: the stream ended before 'message-end'.",
                                code="upstream_stream_truncated", provider=wire.provider)
        result = accumulator.result()
        options.after(dataclasses.asdict(result))
        yield StreamEnd(result)


def _parse_event(data: str, provider: str) -> dict[str, Any]:
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise malformed(provider, "a stream event is not JSON") from exc
    if not isinstance(event, dict):
        raise malformed(provider, "a stream event is not an object")
    return event
