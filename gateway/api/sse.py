"""Server-Sent Events to clients, through sse-starlette's ``EventSourceResponse``.

Frames arrive already framed (``data: ...\\n\\n`` bytes); each is one ASGI ``send``, so the final
frames of a stream, joined by the relay, go out in one write. While a stream is open a
``: ping`` comment goes out every ``ping`` seconds (0: none), so a proxy's idle timeout does
not cut a model that thinks for minutes; SSE clients skip comments.

The first event decides what the client sees when things go wrong. ``first_event`` waits for
it up to the ping interval before any byte is sent: an error that comes within that wait is a
real HTTP error (its status, its headers). An event slower than that commits the response
(status 200, an immediate ``: ping``) and is awaited inside the stream, where an error is one
in-band ``data: {"error": ...}`` frame; pings keep flowing while it is awaited.

A client that goes away is noticed by sse-starlette's disconnect watcher, which cancels the
relay; the frame iterator and its source are then closed in a shielded scope (``close_stream``,
the response's ``close``), so the upstream response is closed at once and the request is
recorded as cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio
from sse_starlette.event import ServerSentEvent
from sse_starlette.sse import EventSourceResponse
from starlette.types import Message, Receive, Scope, Send

T = TypeVar("T")

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no", "connection": "keep-alive"}
PING = b": ping\n\n"
DEFAULT_PING_SECONDS = 15.0


def _ping_event() -> ServerSentEvent:
    return ServerSentEvent(comment="ping", sep="\n")


class SSEResponse(EventSourceResponse):
    """Relays ``frames`` (bytes, each sent as is) with ``SSE_HEADERS`` and keep-alive pings every
    ``ping`` seconds (0 disables them). Whatever happens, the response closes ``frames`` and then
    awaits ``close`` (shielded from cancellation): the place to close the source the frames come
    from, so that a source slow to close (an upstream read to its end for reuse) holds neither
    the response's last byte nor a ping after it."""

    def __init__(self, frames: AsyncGenerator[bytes, None], headers: Mapping[str, str] | None = None,
                 ping: float = DEFAULT_PING_SECONDS, close: Callable[[], Awaitable[None]] | None = None) -> None:
        super().__init__(frames, headers={**SSE_HEADERS, **(headers or {})}, ping=ping, sep="\n",
                         ping_message_factory=_ping_event)
        self.frames = frames
        self._close = close
        self._ping_every = ping
        self._data_sent_at: float | None = None

    async def _send_with_timeout(self, send: Send, message: Message) -> None:
        """Each frame and ping straight to ``send``: sse-starlette wraps every send in a cancel scope for
        its ``send_timeout``, which the gateway does not set (it cost more CPU than the rest of the
        relay; see ``bench/sse_cost.py``). As before, a client that stops reading holds the send
        (the server's flow control).

        A ping goes out only when no event went out for a whole ping interval: a stream that is
        flowing needs no keep-alive, and so no ping can follow the stream's last event (the ping
        task may wake between the last frame and the response's end)."""
        body = message.get("body")
        if body == PING:
            if self._data_sent_at is not None and time.monotonic() - self._data_sent_at < self._ping_every:
                return
        elif body:
            self._data_sent_at = time.monotonic()
        await send(message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except OSError:
            pass
        finally:
            await close_stream(self.frames)
            if self._close is not None:
                with anyio.CancelScope(shield=True):
                    await self._close()


async def first_event(events: AsyncIterator[T], wait: float) -> asyncio.Future[T]:
    """The first item of ``events``: a done future when it came within ``wait`` seconds (``wait``
    <= 0: however long it takes), its error raised here, before any response starts; otherwise
    the future still running, for the stream to await (see the module docstring). Cancelled
    while waiting, the pending ``anext`` is cancelled and awaited before this raises; the caller
    closes ``events`` on any error."""
    if wait <= 0:
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        done.set_result(await anext(events))
        return done
    pending: asyncio.Future[T] = asyncio.ensure_future(anext(events))
    try:
        await asyncio.wait({pending}, timeout=wait)
    except BaseException:
        await _settled(pending)
        raise
    if pending.done():
        pending.result()
    return pending


async def _settled(pending: asyncio.Future[Any]) -> None:
    """Cancel ``pending`` if it still runs and wait for it; its outcome is dropped."""
    if not pending.done():
        pending.cancel()
        await asyncio.wait({pending})
    if not pending.cancelled():
        pending.exception()


async def close_stream(events: AsyncGenerator[Any, None], pending: asyncio.Future[Any] | None = None) -> None:
    """Close ``events`` even from a cancelled relay: first the ``anext`` still ``pending`` on it
    (cancelled and awaited), then the generator itself, shielded from the cancellation."""
    with anyio.CancelScope(shield=True):
        if pending is not None:
            await _settled(pending)
        await events.aclose()
