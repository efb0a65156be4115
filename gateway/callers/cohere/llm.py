"""``LargeLanguageCaller`` for Cohere's v2 Chat API (POST /v2/chat)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

from gateway.callers.base import CallerContext, ChatCompletionOptions
from gateway.callers.cohere.request import to_cohere_chat
from gateway.callers.cohere.response import from_cohere_chat
from gateway.callers.cohere.stream import ChatDecoder
from gateway.callers.cohere.wire import CohereWire, parse_cohere_error
from gateway.callers.http import open_stream, request_json
from gateway.callers.streams import relay_stream
from gateway.core.messages import Message
from gateway.core.results import ChatResult, StreamEvent

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
    ) -> AsyncGenerator[StreamEvent, None]:
        """Raises ``UpstreamError`` if the stream ends without ``message-end`` (truncated)."""
        wire = self._wire
        body = to_cohere_chat(messages, options, stream=True)
        options.before(body)
        async with open_stream(
            self._ctx.http, "POST", wire.url(CHAT_PATH), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=wire.headers, json=body, parse_error=parse_cohere_error,
        ) as response:
            async for item in relay_stream(response, ChatDecoder(wire.provider), options, provider=wire.provider,
                                           awaiting="'message-end'"):
                yield item
