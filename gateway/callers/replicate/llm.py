"""``LargeLanguageCaller`` for Replicate predictions.

Non-streaming: create the prediction with ``Prefer: wait`` (sync mode: the
answer waits up to 60 s for the prediction to finish). If it comes back still
``starting`` or ``processing``, poll ``urls.get`` every ``poll_interval``
seconds until it is terminal, all within ``timeouts.total``; past that the
prediction is canceled (best effort) and the call fails with a timeout.

Streaming: create with ``"stream": true``, then ``GET urls.stream``
(``text/event-stream``): ``output`` events carry text, ``error`` raises,
``done`` ends it. The stream carries no token counts, so after ``done`` we GET
the prediction once (``urls.get``) to read its metrics; should that extra call
fail, the stream still ends successfully with usage unknown. A stream that ends
without ``done`` raises ``UpstreamError`` (truncated).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncGenerator, Iterable, Sequence
from typing import Any

from gateway.callers.base import CallerContext, ChatCompletionOptions, Timeouts
from gateway.callers.http import ServerSentEvent, open_stream, request_json
from gateway.callers.paths import segment
from gateway.callers.replicate.request import prediction_body
from gateway.callers.replicate.response import (
    TERMINAL,
    as_prediction,
    chat_result,
    check_done,
    check_status,
    from_prediction,
    prediction_url,
    stream_error,
    usage_from_metrics,
)
from gateway.callers.replicate.wire import NAME, ReplicateWire, parse_model, parse_replicate_error, replicate_wire
from gateway.callers.streams import relay_stream
from gateway.core.messages import Message
from gateway.core.results import ChatResult, StreamEvent, TextDelta, Usage
from gateway.errors import GatewayError, UpstreamError, UpstreamTimeoutError

SIDE_CALL_SECONDS = 10.0
"""Budget of the calls around a prediction (metrics read after a stream, cancel)."""


class PredictionDecoder:
    """The ``StreamDecoder`` of a prediction's stream (for ``relay_stream``): ``output`` events carry
    text, ``error`` raises, ``done`` ends it (and is needed for it to be complete)."""

    def __init__(self, prediction: dict[str, Any]) -> None:
        self._prediction = prediction
        self._texts: list[str] = []
        self.ended = False

    def feed(self, event: ServerSentEvent) -> Iterable[StreamEvent]:
        if event.event == "output" and event.data:
            self._texts.append(event.data)
            return (TextDelta(event.data),)
        if event.event == "error":
            raise stream_error(event.data)
        if event.event == "done":
            check_done(event.data)
            self.ended = True
        return ()

    @property
    def complete(self) -> bool:
        return self.ended

    def close(self) -> Iterable[StreamEvent]:
        return ()

    def result(self) -> ChatResult:
        """The text; the usage is read after the stream (``_final_usage``)."""
        return chat_result(self._prediction, "".join(self._texts), Usage())


class ReplicateLargeLanguageCaller:
    def __init__(self, ctx: CallerContext, poll_interval: float = 0.5) -> None:
        self._ctx = ctx
        self._wire: ReplicateWire = replicate_wire(ctx.credential)
        self._poll_interval = poll_interval

    async def _call(self, method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None,
                    timeouts: Timeouts | None = None) -> dict[str, Any]:
        data, _ = await request_json(
            self._ctx.http, method, url, provider=NAME, timeouts=timeouts or self._ctx.timeouts,
            headers={**self._wire.headers, **(headers or {})}, json=body, parse_error=parse_replicate_error,
        )
        return as_prediction(data)

    def _get_url(self, prediction: dict[str, Any]) -> str:
        own = prediction_url(prediction, "get", self._wire.base_url)
        return own or self._wire.url(f"v1/predictions/{segment(str(prediction.get('id')), NAME, 'id')}")

    def _side_timeouts(self) -> Timeouts:
        t = self._ctx.timeouts
        return dataclasses.replace(t, read=min(t.read, SIDE_CALL_SECONDS), total=min(t.total, SIDE_CALL_SECONDS))

    async def get_chat_completion(self, messages: Sequence[Message], options: ChatCompletionOptions) -> ChatResult:
        ref = parse_model(options.model)
        body = prediction_body(ref, messages, options.model_parameter, stream=False)
        options.before(body)
        created: dict[str, Any] | None = None
        try:
            async with asyncio.timeout(self._ctx.timeouts.total):
                created = prediction = await self._call("POST", self._wire.create_url(ref), body=body,
                                                        headers={"prefer": "wait"})
                while prediction["status"] not in TERMINAL:
                    await asyncio.sleep(self._poll_interval)
                    prediction = await self._call("GET", self._get_url(prediction))
        except TimeoutError as exc:
            await self._cancel(created)
            raise UpstreamTimeoutError(
                f"{NAME}: the prediction did not finish within {self._ctx.timeouts.total:g}s.",
                code="upstream_total_timeout", provider=NAME,
            ) from exc
        options.after(prediction)
        return from_prediction(prediction)

    async def _cancel(self, prediction: dict[str, Any] | None) -> None:
        """Best effort: stop a prediction we gave up on, so it stops costing."""
        url = prediction_url(prediction, "cancel", self._wire.base_url) if prediction else None
        if url is None:
            return
        with contextlib.suppress(GatewayError):
            await self._call("POST", url, timeouts=self._side_timeouts())

    async def stream_chat_completion(
        self, messages: Sequence[Message], options: ChatCompletionOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        ref = parse_model(options.model)
        body = prediction_body(ref, messages, options.model_parameter, stream=True)
        options.before(body)
        prediction = await self._call("POST", self._wire.create_url(ref), body=body)
        check_status(prediction)
        stream_url = prediction_url(prediction, "stream", self._wire.base_url)
        if stream_url is None:
            raise UpstreamError(f"{NAME}: model '{options.model}' does not support streaming.",
                                code="streaming_unsupported", provider=NAME)

        async def with_usage(result: ChatResult) -> ChatResult:
            return dataclasses.replace(result, usage=await self._final_usage(prediction))

        async with open_stream(
            self._ctx.http, "GET", stream_url, provider=NAME, timeouts=self._ctx.timeouts,
            headers={**self._wire.headers, "cache-control": "no-store"}, parse_error=parse_replicate_error,
        ) as response:
            async for item in relay_stream(response, PredictionDecoder(prediction), options, provider=NAME,
                                           awaiting="the prediction finished", finish=with_usage):
                yield item

    async def _final_usage(self, prediction: dict[str, Any]) -> Usage:
        """Token counts of a streamed prediction: one extra GET; unknown if it fails."""
        try:
            final = await self._call("GET", self._get_url(prediction), timeouts=self._side_timeouts())
        except GatewayError:
            return Usage()
        return usage_from_metrics(final.get("metrics"))
