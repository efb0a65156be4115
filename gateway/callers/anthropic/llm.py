"""``LargeLanguageCaller`` for the Anthropic Messages API (POST /v1/messages)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

from gateway.callers.anthropic.errors import parse_anthropic_error, stream_error
from gateway.callers.anthropic.request import to_anthropic_chat
from gateway.callers.anthropic.response import from_anthropic_message
from gateway.callers.anthropic.stream import MessagesDecoder
from gateway.callers.anthropic.wire import MESSAGES_PATH, AnthropicWire
from gateway.callers.base import CallerContext, ChatCompletionOptions
from gateway.callers.http import open_stream, request_json
from gateway.callers.streams import relay_stream
from gateway.core.messages import Message
from gateway.core.results import ChatResult, StreamEvent


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
    ) -> AsyncGenerator[StreamEvent, None]:
        """Text and reasoning deltas as they arrive, each tool call once at its block's
        end, then one ``StreamEnd``. A stream without ``message_stop`` raises
        ``UpstreamError`` (truncated); an ``error`` event raises its mapped error."""
        wire = self._wire
        body = to_anthropic_chat(messages, options, wire.provider, stream=True)
        options.before(body)
        async with open_stream(
            self._ctx.http, "POST", wire.url(MESSAGES_PATH), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=wire.headers, json=body, parse_error=parse_anthropic_error,
        ) as response:
            async for item in relay_stream(response, MessagesDecoder(wire.provider), options, provider=wire.provider,
                                           awaiting="'message_stop'"):
                yield item
