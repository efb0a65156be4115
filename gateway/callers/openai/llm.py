"""``LargeLanguageCaller`` for OpenAI-format Chat Completions APIs."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

import orjson

from gateway.callers.base import CallerContext, ChatCompletionOptions
from gateway.callers.http import (
    ErrorParser,
    open_stream,
    parse_common_error,
    request_json,
)
from gateway.callers.openai.request import to_openai_chat
from gateway.callers.openai.response import ChunkAccumulator, from_openai_chat
from gateway.callers.openai.stream import relay_chunks
from gateway.callers.openai.wire import OpenAIWire
from gateway.core.messages import Message
from gateway.core.results import ChatResult, StreamEvent
from gateway.errors import GatewayError, UpstreamError


def stream_error(chunk: dict[str, Any], provider: str, parse: ErrorParser = parse_common_error) -> GatewayError:
    """An error object sent inside an otherwise successful stream."""
    info = parse(chunk)
    message = info.message if info else orjson.dumps(chunk).decode()
    return UpstreamError(f"{provider}: {message}", code=(info.code if info else None) or "upstream_stream_error",
                         provider=provider)


class OpenAILargeLanguageCaller:
    def __init__(self, ctx: CallerContext, wire: OpenAIWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def get_chat_completion(self, messages: Sequence[Message], options: ChatCompletionOptions) -> ChatResult:
        wire = self._wire
        body = to_openai_chat(messages, options, wire.quirks, stream=False)
        options.before(body)
        data, _ = await request_json(
            self._ctx.http, "POST", wire.url("chat/completions", options.model), provider=wire.provider,
            timeouts=self._ctx.timeouts, headers=wire.headers, params=wire.query, json=body,
        )
        options.after(data)
        if isinstance(data, dict) and "error" in data and "choices" not in data:
            raise stream_error(data, wire.provider)
        return from_openai_chat(data, wire.provider)

    async def stream_chat_completion(
        self, messages: Sequence[Message], options: ChatCompletionOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        wire = self._wire
        body = to_openai_chat(messages, options, wire.quirks, stream=True)
        options.before(body)
        async with open_stream(
            self._ctx.http, "POST", wire.url("chat/completions", options.model), provider=wire.provider,
            timeouts=self._ctx.timeouts, headers=wire.headers, params=wire.query, json=body,
        ) as response:
            async for item in relay_chunks(response, wire.provider, ChunkAccumulator(), options,
                                           lambda chunk: _error_chunk(chunk, wire.provider)):
                yield item


def _error_chunk(chunk: dict[str, Any], provider: str) -> GatewayError | None:
    return stream_error(chunk, provider) if "error" in chunk and not chunk.get("choices") else None
