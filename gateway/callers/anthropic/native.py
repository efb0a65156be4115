"""``NativeCaller`` for the Anthropic Messages format: client bodies relayed as sent.

Reference: Anthropic API docs, "Messages", "Streaming Messages", "Token counting"
(``POST /v1/messages/count_tokens``) and "Versions" / "Beta headers". The body keeps
every field the client sent (thinking blocks with their signatures, ``cache_control``);
only ``model`` becomes the upstream model. The client's ``anthropic-version`` and
``anthropic-beta`` headers go along; the key is always the configured credential's.
Usage for the record is read from the answer (``usage``) or from the stream's
``message_start`` and ``message_delta`` events, by the same accumulator the translated
stream uses; an ``error`` event raises its mapped error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson

from gateway.callers.anthropic.errors import parse_anthropic_error, stream_error
from gateway.callers.anthropic.response import usage_from_anthropic
from gateway.callers.anthropic.stream import MessagesDecoder
from gateway.callers.anthropic.wire import COUNT_TOKENS_PATH, MESSAGES_PATH, AnthropicWire
from gateway.callers.base import AIOptions, CallerContext
from gateway.callers.http import iter_sse, malformed, open_stream, request_json, sse_frame
from gateway.callers.streams import drain, truncated
from gateway.core.native import NativeEnd, NativeEvent, NativeFrame, NativeReply, NativeRequest

FORMAT = "anthropic-messages"
"""The wire format this caller relays (its key in ``ProviderSpec.natives``)."""

PASSED_HEADERS = frozenset({"anthropic-version", "anthropic-beta"})
"""Client headers sent upstream as given."""


def native_body(request: NativeRequest, options: AIOptions) -> dict[str, Any]:
    """The client's body with the upstream model name."""
    return {**request.body, "model": options.model}


def native_headers(wire: AnthropicWire, request: NativeRequest) -> dict[str, str]:
    """The credential's headers, with the client's version and beta headers where it gave them."""
    passed = {k.lower(): v for k, v in request.headers.items() if k.lower() in PASSED_HEADERS}
    return {**wire.headers, **passed}


class AnthropicNativeCaller:
    def __init__(self, ctx: CallerContext, wire: AnthropicWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def _post(self, path: str, body: Mapping[str, Any], request: NativeRequest) -> Any:
        wire = self._wire
        data, _ = await request_json(
            self._ctx.http, "POST", wire.url(path), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=native_headers(wire, request), json=body, parse_error=parse_anthropic_error,
        )
        if isinstance(data, dict) and data.get("type") == "error":
            raise stream_error(data, wire.provider)
        return data

    async def send(self, request: NativeRequest, options: AIOptions) -> NativeReply:
        body = native_body(request, options)
        options.before(body)
        data = await self._post(MESSAGES_PATH, body, request)
        options.after(data if isinstance(data, dict) else {"body": data})
        if not isinstance(data, dict):
            raise malformed(self._wire.provider, "the answer is not an object")
        model = data.get("model")
        return NativeReply(orjson.dumps(data), usage_from_anthropic(data.get("usage")),
                           model if isinstance(model, str) else None, self._wire.provider)

    async def stream(self, request: NativeRequest, options: AIOptions) -> AsyncGenerator[NativeEvent, None]:
        wire = self._wire
        body = native_body(request, options)
        options.before(body)
        decoder = MessagesDecoder(wire.provider)
        async with open_stream(
            self._ctx.http, "POST", wire.url(MESSAGES_PATH), provider=wire.provider, timeouts=self._ctx.timeouts,
            headers=native_headers(wire, request), json=body, parse_error=parse_anthropic_error,
        ) as response:
            events = iter_sse(response, wire.provider)
            async for event in events:
                for _ in decoder.feed(event):
                    pass
                yield NativeFrame(sse_frame(event))
                if decoder.ended:
                    await drain(events)
                    break
        if not decoder.complete:
            raise truncated(wire.provider, "'message_stop'")
        result = decoder.result()
        options.after({"usage": dataclasses.asdict(result.usage)})
        yield NativeEnd(result.usage, result.model, wire.provider)

    async def count_tokens(self, request: NativeRequest, options: AIOptions) -> int:
        data = await self._post(COUNT_TOKENS_PATH, native_body(request, options), request)
        tokens = data.get("input_tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, int) or isinstance(tokens, bool):
            raise malformed(self._wire.provider, "no 'input_tokens' in the count")
        return tokens
