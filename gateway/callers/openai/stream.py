"""Relaying an OpenAI-format SSE stream (``data: {chunk}`` ... ``data: [DONE]``) as neutral events.

Shared by every caller whose provider streams chat-completion chunks (OpenAI and
the servers that copy its format); each brings its own chunk accumulator for its
quirks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Protocol

import httpx
import orjson

from gateway.callers.base import AIOptions
from gateway.callers.http import iter_sse, malformed, transport_error
from gateway.core.results import ChatResult, StreamEnd, StreamEvent
from gateway.errors import GatewayError, UpstreamError


class StreamAccumulator(Protocol):
    def feed(self, chunk: dict[str, Any]) -> Iterable[StreamEvent]:
        """The events one parsed chunk produces."""
        ...

    def close(self) -> Iterable[StreamEvent]:
        """Events still pending when the stream ends (unfinished tool calls)."""
        ...

    @property
    def finished(self) -> bool:
        """Every choice seen reported a finish reason."""
        ...

    def result(self) -> ChatResult: ...


def parse_chunk(data: str | bytes, provider: str) -> dict[str, Any]:
    """One event's JSON object; raises ``UpstreamError`` (malformed) otherwise."""
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise malformed(provider, "a stream event is not JSON") from exc
    if not isinstance(chunk, dict):
        raise malformed(provider, "a stream event is not an object")
    return chunk


SHAPE_ERRORS = (AttributeError, TypeError, ValueError, KeyError)
"""What parsers raise on JSON of the wrong shape (a list where an object belongs, say)."""


async def _drain(events: AsyncIterator[object]) -> None:
    """Read what follows ``[DONE]`` (normally just the end of the body) so the connection goes
    back to the pool instead of being dropped; a server that keeps the body open gets 0.2 s."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(0.2):
            async for _ in events:
                pass


def _no_error(_: dict[str, Any]) -> GatewayError | None:
    return None


async def _json_instead_of_stream(response: httpx.Response, provider: str,
                                  error_of: Callable[[dict[str, Any]], GatewayError | None]) -> GatewayError:
    """The error for a 2xx JSON answer to a stream request: the error object it carries
    (some OpenAI-compatible servers answer so), or a malformed-response error."""
    try:
        body = orjson.loads(await response.aread())
    except httpx.HTTPError as exc:
        return transport_error(exc, provider)
    except orjson.JSONDecodeError:
        body = None
    error = error_of(body) if isinstance(body, dict) else None
    return error or malformed(provider, "a JSON body instead of an event stream")


async def relay_chunks(
    response: httpx.Response,
    provider: str,
    accumulator: StreamAccumulator,
    options: AIOptions,
    error_of: Callable[[dict[str, Any]], GatewayError | None] = _no_error,
) -> AsyncIterator[StreamEvent]:
    """Events as the chunks arrive, then pending tool calls, then one ``StreamEnd``.

    ``error_of`` turns an error chunk into the error to raise. A stream that ends
    without ``[DONE]`` while a choice is unfinished raises ``UpstreamError``
    (``upstream_stream_truncated``); so do a JSON body instead of a stream and a
    chunk of the wrong shape (``upstream_malformed_response``). The post-hook gets
    the accumulated result.
    """
    if response.headers.get("content-type", "").startswith("application/json"):
        raise await _json_instead_of_stream(response, provider, error_of)
    done = False
    events = iter_sse(response, provider)
    async for event in events:
        if event.data == "[DONE]":
            done = True
            await _drain(events)
            break
        chunk = parse_chunk(event.data, provider)
        error = error_of(chunk)
        if error is not None:
            raise error
        try:
            items = list(accumulator.feed(chunk))
        except SHAPE_ERRORS as exc:
            raise malformed(provider, "a stream event has an unexpected shape") from exc
        for item in items:
            yield item
    if not done and not accumulator.finished:
        raise UpstreamError(f"{provider}: the stream ended before the completion finished.",
                            code="upstream_stream_truncated", provider=provider)
    for item in accumulator.close():
        yield item
    result = accumulator.result()
    if options.post_hook is not None:
        options.after(dataclasses.asdict(result))
    yield StreamEnd(result)
