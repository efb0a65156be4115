"""``LargeLanguageCaller`` for the Mistral chat completions API."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson

from gateway.callers.base import CallerContext, ChatCompletionOptions
from gateway.callers.http import iter_sse, malformed, open_stream, request_json
from gateway.callers.mistral.request import to_mistral_chat
from gateway.callers.mistral.response import from_mistral_chat
from gateway.callers.mistral.stream import MistralStreamAccumulator
from gateway.callers.mistral.wire import MistralWire, error_in_body, is_error_body, parse_mistral_error
from gateway.core.messages import Message
from gateway.core.results import ChatResult, StreamEnd, StreamEvent
from gateway.errors import UpstreamError


def _chunk(data: str, provider: str) -> dict[str, Any]:
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise malformed(provider, "a stream event is not JSON") from exc
    if not isinstance(chunk, dict):
        raise malformed(provider, "a stream event is not an object")
    return chunk


class MistralLargeLanguageCaller:
    def __init__(self, ctx: CallerContext, wire: MistralWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def get_chat_completion(self, messages: Sequence[Message], options: ChatCompletionOptions) -> ChatResult:
        wire = self._wire
        body = to_mistral_chat(messages, options, stream=False)
        options.before(body)
        data, _ = await request_json(
            self._ctx.http, "POST", wire.url("chat/completions"), provider=wire.provider,
            timeouts=self._ctx.timeouts, headers=wire.headers, json=body, parse_error=parse_mistral_error,
        )
        options.after(data)
        if isinstance(data, dict) and is_error_body(data):
            raise error_in_body(data)
        return from_mistral_chat(data, wire.provider)

    async def stream_chat_completion(
        self, messages: Sequence[Message], options: ChatCompletionOptions
    ) -> AsyncIterator[StreamEvent]:
        """Deltas as they arrive; raises ``UpstreamError`` for an error event or a
        stream that ends before ``[DONE]`` with a choice still unfinished."""
        wire = self._wire
        body = to_mistral_chat(messages, options, stream=True)
        options.before(body)
        accumulator = MistralStreamAccumulator(wire.provider)
        done = False
        async with open_stream(
            self._ctx.http, "POST", wire.url("chat/completions"), provider=wire.provider,
            timeouts=self._ctx.timeouts, headers=wire.headers, json=body, parse_error=parse_mistral_error,
        ) as response:
            async for event in iter_sse(response, wire.provider):
                if event.data == "[DONE]":
                    done = True
                    break
                chunk = _chunk(event.data, wire.provider)
                if is_error_body(chunk):
                    raise error_in_body(chunk)
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
