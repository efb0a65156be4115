"""The tail every streamed completion shares, in one place: ``relay_stream``.

A provider brings a ``StreamDecoder`` - its event accumulator, which turns one upstream SSE event
into neutral events and knows which event ends the stream - and ``relay_stream`` does the rest:

* iterates the events and yields what the decoder makes of them;
* stops at the terminal event (``decoder.ended``) and **drains** what follows it (normally just
  the end of the body, or OpenAI's ``[DONE]`` after a usage chunk), bounded in time and bytes,
  so the connection goes back to the pool for the next request instead of being dropped;
* raises ``upstream_stream_truncated`` when the body ends before the decoder is ``complete``;
* maps a ``ShapeError`` - the typed check of upstream data failing - to a 502 "malformed
  response"; any other exception from a decoder is a bug here and propagates as it is (the
  service answers it with a 500 and logs its traceback);
* runs the post-hook once with the accumulated result and yields the single ``StreamEnd``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Protocol

import httpx
import orjson

from gateway.callers.base import AIOptions
from gateway.callers.http import ServerSentEvent, iter_sse, malformed, transport_error
from gateway.callers.shapes import ShapeError
from gateway.core.results import ChatResult, StreamEnd, StreamEvent
from gateway.errors import GatewayError, UpstreamError

DRAIN_SECONDS = 0.2
"""How long the relay keeps reading after the terminal event, waiting for the body's end."""
DRAIN_BYTES = 64 * 1024
"""How much event data the relay reads after the terminal event before it gives up on reuse."""


class StreamDecoder(Protocol):
    """One provider's reading of its event stream (its accumulator, seen by ``relay_stream``)."""

    def feed(self, event: ServerSentEvent) -> Iterable[StreamEvent]:
        """The neutral events one upstream event produces. Raises the mapped ``GatewayError`` for an
        error event, ``ShapeError`` (via ``gateway.callers.shapes``) for data of the wrong shape."""
        ...

    @property
    def ended(self) -> bool:
        """The terminal event has arrived: nothing after it is decoded (the rest is drained)."""
        ...

    @property
    def complete(self) -> bool:
        """The stream may end here: when the body ends (or ``ended``) and this is false, the stream
        was cut short (``upstream_stream_truncated``)."""
        ...

    def close(self) -> Iterable[StreamEvent]:
        """Events still pending when the stream ends (tool calls not yet emitted)."""
        ...

    def result(self) -> ChatResult:
        """The accumulated completion, for the ``StreamEnd``."""
        ...


async def drain(events: AsyncIterator[ServerSentEvent], *, seconds: float = DRAIN_SECONDS,
                limit: int = DRAIN_BYTES) -> None:
    """Read what follows the terminal event, so the connection goes back to the pool instead of
    being dropped: to the end of the body, for at most ``seconds`` and ``limit`` bytes of event
    data. Whatever goes wrong meanwhile only costs the connection (the caller closes the response)."""
    read = 0
    with contextlib.suppress(Exception):
        async with asyncio.timeout(seconds):
            async for event in events:
                read += len(event.data)
                if read > limit:
                    break
    close = getattr(events, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


def event_object(data: str | bytes, provider: str) -> dict[str, Any]:
    """One stream event's JSON object; a malformed-response ``UpstreamError`` otherwise."""
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise malformed(provider, "a stream event is not JSON") from exc
    if not isinstance(event, dict):
        raise malformed(provider, "a stream event is not an object")
    return event


def truncated(provider: str, awaiting: str) -> UpstreamError:
    return UpstreamError(f"{provider}: the stream ended before {awaiting}.", code="upstream_stream_truncated",
                         provider=provider)


JsonBodyError = Callable[[bytes], GatewayError]
"""The error a 2xx JSON body (instead of an event stream) stands for, given that body."""


async def _json_body_error(response: httpx.Response, provider: str, error_of: JsonBodyError) -> GatewayError:
    try:
        body = await response.aread()
    except httpx.HTTPError as exc:
        return transport_error(exc, provider)
    return error_of(body)


async def relay_stream(
    response: httpx.Response,
    decoder: StreamDecoder,
    options: AIOptions,
    *,
    provider: str,
    awaiting: str = "the completion finished",
    json_body: JsonBodyError | None = None,
    finish: Callable[[ChatResult], Awaitable[ChatResult]] | None = None,
) -> AsyncGenerator[StreamEvent, None]:
    """The neutral events of the streamed ``response`` (already opened, 2xx), then one ``StreamEnd``.

    ``awaiting`` names what a truncated stream ended before (``"'message_stop'"``). ``json_body``:
    a 2xx ``application/json`` answer is not a stream; raise the error this makes of its body
    (without it, such a body is read as events like any other). ``finish`` completes the result
    after the response is drained and closed (a provider that reads the usage with another call);
    the post-hook gets what it returns.
    """
    if json_body is not None and response.headers.get("content-type", "").startswith("application/json"):
        raise await _json_body_error(response, provider, json_body)
    events = iter_sse(response, provider)
    async for event in events:
        try:
            items = list(decoder.feed(event))
        except ShapeError as exc:
            raise malformed(provider, "a stream event has an unexpected shape") from exc
        for item in items:
            yield item
        if decoder.ended:
            await drain(events)
            break
    await response.aclose()
    if not decoder.complete:
        raise truncated(provider, awaiting)
    for item in decoder.close():
        yield item
    result = decoder.result()
    if finish is not None:
        result = await finish(result)
    if options.post_hook is not None:
        options.after(dataclasses.asdict(result))
    yield StreamEnd(result)
