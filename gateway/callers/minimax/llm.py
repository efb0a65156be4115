"""``LargeLanguageCaller`` for MiniMax's OpenAI-compatible chat completions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import orjson

from gateway.callers.base import CallerContext, ChatCompletionOptions
from gateway.callers.http import malformed, open_stream, request_json, transport_error
from gateway.callers.minimax.request import to_minimax_chat
from gateway.callers.minimax.response import from_minimax_chat
from gateway.callers.minimax.stream import MiniMaxStreamAccumulator
from gateway.callers.minimax.wire import MiniMaxWire, error_in_body, parse_minimax_error
from gateway.callers.openai.stream import relay_chunks
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


async def _json_instead_of_events(response: httpx.Response, provider: str) -> GatewayError:
    """MiniMax may answer a stream request with a plain JSON error body (2xx,
    ``base_resp``) instead of events: the error it stands for."""
    try:
        body = await response.aread()
    except httpx.HTTPError as exc:
        raise transport_error(exc, provider) from exc
    error = error_in_body(_object(body, provider, "the answer"))
    return error or malformed(provider, "a JSON answer instead of an event stream")


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
    ) -> AsyncIterator[StreamEvent]:
        """Deltas as they arrive; raises for an error event (``base_resp``) or a
        stream that ends before ``[DONE]`` with a choice still unfinished."""
        wire = self._wire
        body = to_minimax_chat(messages, options, stream=True)
        options.before(body)
        async with open_stream(
            self._ctx.http, "POST", wire.url("chat/completions"), provider=wire.provider,
            timeouts=self._ctx.timeouts, headers=wire.headers, json=body, parse_error=parse_minimax_error,
        ) as response:
            if response.headers.get("content-type", "").startswith("application/json"):
                raise await _json_instead_of_events(response, wire.provider)
            async for item in relay_chunks(response, wire.provider, MiniMaxStreamAccumulator(), options):
                yield item
