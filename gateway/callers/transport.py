"""The shared client's transport: httpx over an asyncio-native httpcore network backend.

httpcore's default backend under asyncio goes through anyio, which costs a task
lookup, a cancel scope and an extra layer per read and write. This backend talks
to asyncio streams directly; timeouts use ``asyncio.timeout`` (no extra task).
TLS upgrades use ``StreamWriter.start_tls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpcore
import httpx
from httpcore._backends.base import SOCKET_OPTION, AsyncNetworkBackend, AsyncNetworkStream
from httpcore._utils import is_socket_readable
from httpx._transports.default import map_httpcore_exceptions

_READ_ERRORS = (ConnectionError, OSError, asyncio.IncompleteReadError)


class AsyncioStream(AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            if timeout is None:
                return await self._reader.read(max_bytes)
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        except _READ_ERRORS as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            if timeout is None:
                await self._writer.drain()
                return
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        except _READ_ERRORS as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(*_READ_ERRORS):
            await self._writer.wait_closed()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            await self.aclose()
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except (*_READ_ERRORS, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            sock = self._writer.get_extra_info("socket")
            return sock is not None and is_socket_readable(sock)
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        return self._writer.get_extra_info(info)


class AsyncioBackend(AsyncNetworkBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[SOCKET_OPTION] | None = None) -> AsyncNetworkStream:
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, local_addr=local, limit=1 << 20)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for option in socket_options or ():
                sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[SOCKET_OPTION] | None = None) -> AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_unix_connection(path, limit=1 << 20)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


_Key = tuple[bytes, bytes, int]


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
        with map_httpcore_exceptions():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        if self._released:
            return
        self._released = True
        try:
            with map_httpcore_exceptions():
                await self._stream.aclose()
        finally:
            await self._pool.release(self._key, self._connection)


class GatewayTransport(httpx.AsyncBaseTransport):
    """An httpx transport with an O(1) connection pool over ``AsyncioBackend``.

    httpcore's own pool matches every waiting request against every connection
    on each request, so its cost grows with the square of concurrency (hundreds
    of streams open at once). Here each origin keeps a stack of idle HTTP/1.1
    connections: a request takes the most recently used one that is still
    healthy (not expired, not closed by the server), or opens a new one; a
    response, once closed, gives its connection back if it can be reused. At
    most ``max_keepalive_connections`` idle connections are kept per origin.
    """

    def __init__(self, limits: httpx.Limits) -> None:
        self._idle: dict[_Key, list[httpcore.AsyncHTTPConnection]] = {}
        self._max_idle = limits.max_keepalive_connections or 100
        self._expiry = limits.keepalive_expiry
        self._ssl = httpx.create_ssl_context()
        self._backend = AsyncioBackend()

    async def _acquire(self, origin: httpcore.Origin, key: _Key) -> httpcore.AsyncHTTPConnection:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection
            await connection.aclose()
        ssl_context = self._ssl if origin.scheme == b"https" else None
        return httpcore.AsyncHTTPConnection(origin, ssl_context=ssl_context, keepalive_expiry=self._expiry,
                                            network_backend=self._backend)

    async def release(self, key: _Key, connection: httpcore.AsyncHTTPConnection) -> None:
        idle = self._idle.setdefault(key, [])
        if connection.is_idle() and not connection.is_closed() and len(idle) < self._max_idle:
            idle.append(connection)
        else:
            await connection.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = httpcore.Origin(url.raw_scheme, url.raw_host, url.port or (443 if url.raw_scheme == b"https" else 80))
        key = (origin.scheme, origin.host, origin.port)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        connection = await self._acquire(origin, key)
        try:
            with map_httpcore_exceptions():
                response = await connection.handle_async_request(core_request)
        except BaseException:
            await connection.aclose()
            raise
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_PooledStream(response.stream, connection, self, key),
                              extensions=response.extensions)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                await connection.aclose()
