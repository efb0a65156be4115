"""``LargeLanguageCaller`` for Gemini-format ``generateContent`` APIs (Gemini API, Vertex AI).

Reference: Gemini API reference "Generating content": ``models.generateContent``
and ``models.streamGenerateContent`` (``?alt=sse``: each ``data:`` event is a
partial ``GenerateContentResponse``; there is no end marker, the last chunk
carries ``finishReason`` and the usage totals).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson

from gateway.callers.base import CallerContext, ChatCompletionOptions
from gateway.callers.gemini.errors import GoogleErrorParser, google_errors, stream_error
from gateway.callers.gemini.request import to_gemini_request
from gateway.callers.gemini.response import ResponseAccumulator, from_gemini
from gateway.callers.gemini.wire import GeminiEndpoint
from gateway.callers.http import iter_sse, malformed, open_stream, request_json
from gateway.core.messages import Message
from gateway.core.results import ChatResult, StreamEnd, StreamEvent
from gateway.errors import UpstreamError


def _parse_chunk(data: str, provider: str) -> dict[str, Any]:
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise malformed(provider, "a stream event is not JSON") from exc
    if not isinstance(chunk, dict):
        raise malformed(provider, "a stream event is not an object")
    return chunk


class GeminiLargeLanguageCaller:
    def __init__(self, ctx: CallerContext, endpoint: GeminiEndpoint) -> None:
        self._ctx = ctx
        self._endpoint = endpoint

    async def get_chat_completion(self, messages: Sequence[Message], options: ChatCompletionOptions) -> ChatResult:
        endpoint = self._endpoint
        body = to_gemini_request(messages, options, endpoint.quirks)
        options.before(body)
        parser = GoogleErrorParser()
        headers = await endpoint.headers()
        with google_errors(parser):
            data, _ = await request_json(
                self._ctx.http, "POST", endpoint.model_url(options.model, "generateContent"),
                provider=endpoint.provider, timeouts=self._ctx.timeouts, headers=headers, json=body, parse_error=parser,
            )
        options.after(data)
        return from_gemini(data, endpoint.provider)

    async def stream_chat_completion(
        self, messages: Sequence[Message], options: ChatCompletionOptions
    ) -> AsyncIterator[StreamEvent]:
        endpoint = self._endpoint
        provider = endpoint.provider
        body = to_gemini_request(messages, options, endpoint.quirks)
        options.before(body)
        accumulator = ResponseAccumulator(provider)
        parser = GoogleErrorParser()
        headers = await endpoint.headers()
        with google_errors(parser):
            async with open_stream(
                self._ctx.http, "POST", endpoint.model_url(options.model, "streamGenerateContent"),
                provider=provider, timeouts=self._ctx.timeouts, headers=headers, params={"alt": "sse"}, json=body,
                parse_error=parser,
            ) as response:
                async for event in iter_sse(response, provider):
                    chunk = _parse_chunk(event.data, provider)
                    if "error" in chunk and not chunk.get("candidates"):
                        raise stream_error(chunk, parser, provider)
                    for item in accumulator.feed(chunk):
                        yield item
        if not accumulator.finished:
            raise UpstreamError(f"{provider}: the stream ended before the completion finished.",
                                code="upstream_stream_truncated", provider=provider)
        result = accumulator.result()
        options.after(dataclasses.asdict(result))
        yield StreamEnd(result)
