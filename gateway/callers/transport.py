"""The shared client's transport: httpx over httpcore's HTTP/1.1 connections, with an O(1)
per-origin pool that caps connections, and sockets driven by an asyncio protocol.

Only public interfaces are used: ``httpx.AsyncBaseTransport`` above, ``httpcore.AsyncHTTPConnection``
and ``httpcore.AsyncNetworkBackend``/``AsyncNetworkStream`` below (pinned in ``pyproject.toml`` to
the ranges the suite runs against).

Why not httpcore's own pool and backend: its pool matches every waiting request against every
connection on each request, so its cost grows with the square of concurrency (64 concurrent
requests fell to 283 req/s; 1354 with this pool), and its asyncio backend goes through anyio on
every read and write. Here each origin keeps a stack of idle connections and a FIFO of waiters:

- a request takes the most recently used idle connection that is still healthy (not expired,
  and nothing arrived on it while idle: a server's close or stray bytes mean it is stale, and
  it is closed instead), or opens a new one while the origin has fewer than ``max_connections``;
- at the cap it waits, first come first served, for a connection to be handed over or a slot to
  free, at most the request's pool timeout, then fails with ``httpx.PoolTimeout`` saying so;
- a response, once closed, hands its connection to the first waiter or back to the stack (at
  most ``max_keepalive_connections`` idle per origin), or closes it and frees its slot;
- a request that fails on a reused connection before any answer, where resending cannot do the
  work twice (nothing could be written, or an idempotent method), is sent once more on a new one.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
from collections.abc import AsyncIterator, Iterable
from typing import Any, cast

import httpcore
import httpx

_HIGH_WATER = 1 << 20
"""Bytes buffered from a socket before reading from it pauses (flow control)."""
_IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})

_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)
"""httpcore's exceptions and the httpx ones they surface as, most specific first."""


def as_httpx_error(exc: Exception) -> Exception:
    """The httpx exception for an httpcore one (chained to it); anything else as it is."""
    for core, mapped in _EXCEPTIONS:
        if isinstance(exc, core):
            error = mapped(str(exc))
            error.__cause__ = exc
            return error
    return exc


class _Protocol(asyncio.Protocol):
    """One socket's bytes as they arrive, for ``AsyncioStream``."""

    def __init__(self) -> None:
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.eof = False
        self.lost: Exception | None = None
        self.closed = False
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > _HIGH_WATER and not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.lost = exc
        self._wake()
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        chunk = self.chunks.popleft()
        if len(chunk) > max_bytes:
            self.chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        self.buffered -= len(chunk)
        if self._reading_paused and self.buffered <= _HIGH_WATER // 4 and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return chunk

    async def wait_data(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        await self._waiter

    async def drain(self) -> None:
        if self._drained is not None:
            await self._drained


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, protocol: _Protocol) -> None:
        self._protocol = protocol

    @property
    def _transport(self) -> asyncio.Transport:
        transport = self._protocol.transport
        assert transport is not None
        return transport

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.chunks and not protocol.eof and not protocol.closed:
            try:
                async with asyncio.timeout(timeout):
                    while not protocol.chunks and not protocol.eof and not protocol.closed:
                        await protocol.wait_data()
            except TimeoutError as exc:
                raise httpcore.ReadTimeout("timed out reading from the server") from exc
        if protocol.chunks:
            return protocol.take(max_bytes)
        if protocol.lost is not None:
            raise httpcore.ReadError(str(protocol.lost)) from protocol.lost
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.closed or self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)
        try:
            async with asyncio.timeout(timeout):
                await protocol.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout("timed out writing to the server") from exc
        if protocol.closed and protocol.lost is not None:
            raise httpcore.WriteError(str(protocol.lost)) from protocol.lost

    async def aclose(self) -> None:
        transport = self._protocol.transport
        if transport is not None:
            transport.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                upgraded = await loop.start_tls(self._transport, self._protocol, ssl_context,
                                                server_hostname=server_hostname)
        except TimeoutError as exc:
            await self.aclose()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from exc
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc)) from exc
        if upgraded is None:
            raise httpcore.ConnectError("the TLS handshake did not complete")
        self._protocol.transport = upgraded
        return self

    def get_extra_info(self, info: str) -> Any:
        protocol = self._protocol
        if info == "is_readable":
            return bool(protocol.chunks) or protocol.eof or protocol.closed
        transport = protocol.transport
        if transport is None:
            return None
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        return transport.get_extra_info(info)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(_Protocol, host, port, local_addr=local)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for option in socket_options or ():
                sock.setsockopt(*option)
        return AsyncioStream(protocol)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, protocol = await loop.create_unix_connection(_Protocol, path)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"timed out connecting to {path}") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return AsyncioStream(protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


_Key = tuple[bytes, bytes, int]


class _Origin:
    """One origin's connections: the idle stack, how many are open (idle or busy), the waiters."""

    __slots__ = ("idle", "open", "waiters")

    def __init__(self) -> None:
        self.idle: list[httpcore.AsyncHTTPConnection] = []
        self.open = 0
        self.waiters: collections.deque[asyncio.Future[httpcore.AsyncHTTPConnection | None]] = collections.deque()


class _PooledStream(httpx.AsyncByteStream):
    """A response body that hands its connection back to the pool once closed."""

    def __init__(self, stream: Any, connection: httpcore.AsyncHTTPConnection, pool: GatewayTransport,
                 key: _Key) -> None:
        self._stream = stream
        self._connection = connection
        self._pool = pool
        self._key = key
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except Exception as exc:
            mapped = as_httpx_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        if self._released:
            return
        self._released = True
        try:
            await self._stream.aclose()
        except Exception as exc:
            mapped = as_httpx_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        finally:
            await self._pool.release(self._key, self._connection)


class GatewayTransport(httpx.AsyncBaseTransport):
    """An httpx transport with an O(1) per-origin connection pool capped at
    ``limits.max_connections`` per origin (see the module docstring)."""

    def __init__(self, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        self._origins: dict[_Key, _Origin] = {}
        self._max_open = limits.max_connections or 1000
        self._max_idle = min(limits.max_keepalive_connections or 100, self._max_open)
        self._expiry = limits.keepalive_expiry
        self._ssl = ssl_context or httpx.create_ssl_context()
        self._backend = AsyncioBackend()

    @property
    def max_connections(self) -> int:
        """The cap on connections per origin."""
        return self._max_open

    def open_connections(self, url: str) -> int:
        """How many connections to ``url``'s origin are open, idle or busy."""
        entry = self._origins.get(self._key(httpx.URL(url)))
        return entry.open if entry is not None else 0

    @staticmethod
    def _key(url: httpx.URL) -> _Key:
        return url.raw_scheme, url.raw_host, url.port or (443 if url.raw_scheme == b"https" else 80)

    def _new(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        ssl_context = self._ssl if origin.scheme == b"https" else None
        return httpcore.AsyncHTTPConnection(origin, ssl_context=ssl_context, keepalive_expiry=self._expiry,
                                            network_backend=self._backend)

    async def _acquire(self, origin: httpcore.Origin, key: _Key, wait: float | None,
                       ) -> tuple[httpcore.AsyncHTTPConnection, bool]:
        """A connection and whether it was used before."""
        entry = self._origins.get(key)
        if entry is None:
            entry = self._origins[key] = _Origin()
        while entry.idle:
            connection = entry.idle.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection, True
            await self._close(entry, connection)
        if entry.open < self._max_open:
            entry.open += 1
            return self._new(origin), False
        waiter: asyncio.Future[httpcore.AsyncHTTPConnection | None] = asyncio.get_running_loop().create_future()
        entry.waiters.append(waiter)
        try:
            async with asyncio.timeout(wait):
                handed = await waiter
        except TimeoutError:
            raise httpx.PoolTimeout(
                f"all {self._max_open} connections to {origin.host.decode()}:{origin.port} stayed busy for "
                f"{wait:g}s (GATEWAY_UPSTREAM_MAX_CONNECTIONS)") from None
        finally:
            if not waiter.done():
                waiter.cancel()
            if waiter in entry.waiters:
                entry.waiters.remove(waiter)
        if handed is None:
            return self._new(origin), False
        return handed, True

    async def _close(self, entry: _Origin, connection: httpcore.AsyncHTTPConnection) -> None:
        """Close ``connection`` and free its slot, or pass the slot to the first waiter."""
        try:
            await connection.aclose()
        finally:
            if not self._hand_over(entry, None):
                entry.open -= 1

    @staticmethod
    def _hand_over(entry: _Origin, connection: httpcore.AsyncHTTPConnection | None) -> bool:
        while entry.waiters:
            waiter = entry.waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False

    async def release(self, key: _Key, connection: httpcore.AsyncHTTPConnection) -> None:
        entry = self._origins.get(key)
        if entry is None:
            await connection.aclose()
            return
        if connection.is_idle() and not connection.is_closed():
            if self._hand_over(entry, connection):
                return
            if len(entry.idle) < self._max_idle:
                entry.idle.append(connection)
                return
        await self._close(entry, connection)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = self._key(url)
        origin = httpcore.Origin(key[0], key[1], key[2])
        timeouts = request.extensions.get("timeout") or {}
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        resend = isinstance(request.stream, httpx.ByteStream)
        while True:
            connection, reused = await self._acquire(origin, key, timeouts.get("pool"))
            try:
                response = await connection.handle_async_request(core_request)
            except BaseException as exc:
                await self._close(self._origins.get(key) or _Origin(), connection)
                if reused and resend and self._stale(exc, request.method.encode()):
                    continue
                if isinstance(exc, Exception):
                    mapped = as_httpx_error(exc)
                    if mapped is not exc:
                        raise mapped from exc
                raise
            return httpx.Response(status_code=response.status, headers=response.headers,
                                  stream=_PooledStream(response.stream, connection, self, key),
                                  extensions=response.extensions)

    @staticmethod
    def _stale(exc: BaseException, method: bytes) -> bool:
        """Whether a failure on a reused connection may be resent on a new one: nothing could be
        written, or the server went away before answering a request that is safe to repeat."""
        if isinstance(exc, httpcore.WriteError):
            return True
        return isinstance(exc, httpcore.RemoteProtocolError | httpcore.ReadError) and method in _IDEMPOTENT

    async def aclose(self) -> None:
        origins, self._origins = self._origins, {}
        for entry in origins.values():
            for connection in entry.idle:
                await connection.aclose()


def shared_client(max_connections: int, keepalive_expiry: float = 30.0) -> httpx.AsyncClient:
    """The HTTP client every provider call goes through (the server's, and the CLI's checks):
    this transport, ``max_connections`` per origin, no timeouts of its own (each call sets them),
    no redirects, no proxy or certificate settings from the environment but ``SSL_CERT_FILE``."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=min(500, max_connections),
                          keepalive_expiry=keepalive_expiry)
    return httpx.AsyncClient(transport=GatewayTransport(limits), timeout=None, follow_redirects=False,
                             trust_env=False)
