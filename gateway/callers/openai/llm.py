"""``LargeLanguageCaller`` for OpenAI-format Chat Completions APIs."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import orjson

from gateway.callers.base import CallerContext, ChatCompletionOptions
from gateway.callers.http import (
    ErrorParser,
    iter_sse,
    malformed,
    open_stream,
    parse_common_error,
    request_json,
)
from gateway.callers.openai.request import to_openai_chat
from gateway.callers.openai.response import ChunkAccumulator, from_openai_chat
from gateway.callers.openai.wire import OpenAIWire
from gateway.core.messages import Message
from gateway.core.results import ChatResult, StreamEnd, StreamEvent
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
    ) -> AsyncIterator[StreamEvent]:
        wire = self._wire
        body = to_openai_chat(messages, options, wire.quirks, stream=True)
        options.before(body)
        accumulator = ChunkAccumulator()
        done = False
        async with open_stream(
            self._ctx.http, "POST", wire.url("chat/completions", options.model), provider=wire.provider,
            timeouts=self._ctx.timeouts, headers=wire.headers, params=wire.query, json=body,
        ) as response:
            async for event in iter_sse(response, wire.provider):
                if event.data == "[DONE]":
                    done = True
                    break
                chunk = _parse_chunk(event.data, wire.provider)
                if "error" in chunk and not chunk.get("choices"):
                    raise stream_error(chunk, wire.provider)
                for item in accumulator.feed(chunk):
                    yield item
        if not done and not accumulator.finished:
            raise UpstreamError(f"{wire.provider}: the stream ended before the completion finished.",
                                code="upstream_stream_truncated", provider=wire.provider)
        for item in accumulator.close():
            yield item
        result = accumulator.result()
        options.after(dataclasses.asdict(result))
        yield StreamEnd(result)


def _parse_chunk(data: str, provider: str) -> dict[str, Any]:
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise malformed(provider, "a stream event is not JSON") from exc
    if not isinstance(chunk, dict):
        raise malformed(provider, "a stream event is not an object")
    return chunk


async def list_models(ctx: CallerContext, wire: OpenAIWire) -> httpx.Headers:
    """``GET /models``: the free call used to verify a credential."""
    _, headers = await request_json(ctx.http, "GET", wire.url("models"), provider=wire.provider,
                                    timeouts=ctx.timeouts, headers=wire.headers, params=wire.query)
    return headers
