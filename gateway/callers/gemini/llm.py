"""``LargeLanguageCaller`` for Gemini-format ``generateContent`` APIs (Gemini API, Vertex AI).

Reference: Gemini API reference "Generating content": ``models.generateContent``
and ``models.streamGenerateContent`` (``?alt=sse``: each ``data:`` event is a
partial ``GenerateContentResponse``; there is no end marker, the last chunk
carries ``finishReason`` and the usage totals).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Sequence

from gateway.callers.base import CallerContext, ChatCompletionOptions
from gateway.callers.gemini.errors import GoogleErrorParser, google_errors, stream_error
from gateway.callers.gemini.request import to_gemini_request
from gateway.callers.gemini.response import ResponseAccumulator, from_gemini
from gateway.callers.gemini.wire import GeminiEndpoint
from gateway.callers.http import ServerSentEvent, open_stream, request_json
from gateway.callers.streams import event_object, relay_stream
from gateway.core.messages import Message
from gateway.core.results import ChatResult, StreamEvent


class GenerateDecoder:
    """The ``StreamDecoder`` of ``streamGenerateContent?alt=sse`` (for ``relay_stream``): there is no
    end marker, so the body is read to its end; complete once every candidate has finished."""

    ended = False

    def __init__(self, provider: str, parser: GoogleErrorParser) -> None:
        self._provider = provider
        self._parser = parser
        self.accumulator = ResponseAccumulator(provider)

    def feed(self, event: ServerSentEvent) -> Iterable[StreamEvent]:
        chunk = event_object(event.data, self._provider)
        if "error" in chunk and not chunk.get("candidates"):
            raise stream_error(chunk, self._parser, self._provider)
        return self.accumulator.feed(chunk)

    @property
    def complete(self) -> bool:
        return self.accumulator.finished

    def close(self) -> Iterable[StreamEvent]:
        return ()

    def result(self) -> ChatResult:
        return self.accumulator.result()


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
    ) -> AsyncGenerator[StreamEvent, None]:
        endpoint = self._endpoint
        provider = endpoint.provider
        body = to_gemini_request(messages, options, endpoint.quirks)
        options.before(body)
        parser = GoogleErrorParser()
        headers = await endpoint.headers()
        with google_errors(parser):
            async with open_stream(
                self._ctx.http, "POST", endpoint.model_url(options.model, "streamGenerateContent"),
                provider=provider, timeouts=self._ctx.timeouts, headers=headers, params={"alt": "sse"}, json=body,
                parse_error=parser,
            ) as response:
                async for item in relay_stream(response, GenerateDecoder(provider, parser), options,
                                               provider=provider):
                    yield item
