"""``LargeLanguageCaller`` for MiniMax's OpenAI-compatible chat completions."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

import orjson

from gateway.callers.base import CallerContext, ChatCompletionOptions
from gateway.callers.http import malformed, open_stream, request_json
from gateway.callers.minimax.request import to_minimax_chat
from gateway.callers.minimax.response import from_minimax_chat
from gateway.callers.minimax.stream import MiniMaxStreamAccumulator
from gateway.callers.minimax.wire import MiniMaxWire, error_in_body, parse_minimax_error
from gateway.callers.openai.stream import ChunkDecoder
from gateway.callers.streams import relay_stream
from gateway.core.messages import Message
from gateway.core.results import ChatResult, StreamEvent
from gateway.errors import GatewayError


def _object(data: str | bytes, provider: str, what: str) -> dict[str, Any]:
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise malformed(provider, f"{what} is not JSON") from exc
    if not isinstance(parsed, dict):
        raise malformed(provider, f"{what} is not an object")
    return parsed


def _json_instead_of_events(provider: str) -> Callable[[bytes], GatewayError]:
    """MiniMax may answer a stream request with a plain JSON error body (2xx,
    ``base_resp``) instead of events: the error it stands for."""
    def error(body: bytes) -> GatewayError:
        found = error_in_body(_object(body, provider, "the answer"))
        return found or malformed(provider, "a JSON answer instead of an event stream")
    return error


class MiniMaxLargeLanguageCaller:
    def __init__(self, ctx: CallerContext, wire: MiniMaxWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def get_chat_completion(self, messages: Sequence[Message], options: ChatCompletionOptions) -> ChatResult:
        wire = self._wire
        body = to_minimax_chat(messages, options, stream=False)
        options.before(body)
        data, _ = await request_json(
            self._ctx.http, "POST", wire.url("chat/completions"), provider=wire.provider,
            timeouts=self._ctx.timeouts, headers=wire.headers, json=body, parse_error=parse_minimax_error,
        )
        options.after(data)
        return from_minimax_chat(data, wire.provider)

    async def stream_chat_completion(
        self, messages: Sequence[Message], options: ChatCompletionOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        """Deltas as they arrive; raises for an error event (``base_resp``) or a
        stream that ends before ``[DONE]`` with a choice still unfinished."""
        wire = self._wire
        body = to_minimax_chat(messages, options, stream=True)
        options.before(body)
        async with open_stream(
            self._ctx.http, "POST", wire.url("chat/completions"), provider=wire.provider,
            timeouts=self._ctx.timeouts, headers=wire.headers, json=body, parse_error=parse_minimax_error,
        ) as response:
            decoder = ChunkDecoder(MiniMaxStreamAccumulator(), wire.provider)
            async for item in relay_stream(response, decoder, options, provider=wire.provider,
                                           json_body=_json_instead_of_events(wire.provider)):
                yield item
