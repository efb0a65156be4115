"""``TokenCounter`` for the Gemini API (``models.countTokens``).

Reference: Gemini API reference, "Counting tokens": ``POST models/{model}:countTokens``
with a ``generateContentRequest`` (the same body ``generateContent`` takes, plus
``model``) counts the contents, system instruction and tools together; the answer's
``totalTokens`` is the count. The call is free.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.callers.base import CallerContext, ChatCompletionOptions
from gateway.callers.gemini.errors import GoogleErrorParser, google_errors
from gateway.callers.gemini.request import to_gemini_request
from gateway.callers.gemini.wire import GeminiEndpoint, model_resource
from gateway.callers.http import malformed, request_json
from gateway.core.messages import Message


class GeminiTokenCounter:
    def __init__(self, ctx: CallerContext, endpoint: GeminiEndpoint) -> None:
        self._ctx = ctx
        self._endpoint = endpoint

    async def count_tokens(self, messages: Sequence[Message], options: ChatCompletionOptions) -> int:
        endpoint = self._endpoint
        request = to_gemini_request(messages, options, endpoint.quirks)
        body = {"generateContentRequest": {"model": model_resource(options.model, endpoint.provider), **request}}
        parser = GoogleErrorParser()
        headers = await endpoint.headers()
        with google_errors(parser):
            data, _ = await request_json(
                self._ctx.http, "POST", endpoint.model_url(options.model, "countTokens"),
                provider=endpoint.provider, timeouts=self._ctx.timeouts, headers=headers, json=body, parse_error=parser,
            )
        total = data.get("totalTokens") if isinstance(data, dict) else None
        if not isinstance(total, int) or isinstance(total, bool):
            raise malformed(endpoint.provider, "no 'totalTokens' in the count")
        return total
