"""``LargeLanguageCaller`` for the Mistral chat completions API."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from functools import partial

from gateway.callers.base import CallerContext, ChatCompletionOptions
from gateway.callers.http import open_stream, request_json
from gateway.callers.mistral.request import to_mistral_chat
from gateway.callers.mistral.response import from_mistral_chat
from gateway.callers.mistral.stream import MistralStreamAccumulator
from gateway.callers.mistral.wire import MistralWire, error_in_body, is_error_body, parse_mistral_error
from gateway.callers.openai.stream import check_chunk, relay_chunks
from gateway.core.messages import Message
from gateway.core.results import ChatResult, StreamEvent

_check = partial(check_chunk, content=(str, list), arguments=(str, dict, list))
"""Mistral may send ``delta.content`` as a list of chunks and arguments as an object."""


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
    ) -> AsyncGenerator[StreamEvent, None]:
        """Deltas as they arrive; raises ``UpstreamError`` for an error event or a
        stream that ends before ``[DONE]`` with a choice still unfinished."""
        wire = self._wire
        body = to_mistral_chat(messages, options, stream=True)
        options.before(body)
        async with open_stream(
            self._ctx.http, "POST", wire.url("chat/completions"), provider=wire.provider,
            timeouts=self._ctx.timeouts, headers=wire.headers, json=body, parse_error=parse_mistral_error,
        ) as response:
            async for item in relay_chunks(response, wire.provider, MistralStreamAccumulator(wire.provider), options,
                                           lambda chunk: error_in_body(chunk) if is_error_body(chunk) else None,
                                           _check):
                yield item
