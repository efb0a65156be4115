"""A fault-injecting fake OpenAI upstream, served from a raw asyncio TCP server.

An HTTP framework cannot reset a connection, stall before its status line or send
a broken one, so this fake speaks HTTP/1.1 by hand: it reads one request per
connection, then runs the next scripted ``Behaviour`` (or ``ok()``) on the socket.
Every connection is logged (``Connection``): the request it carried, when it was
accepted and when it was closed, which the disconnect tests use to time how fast
the gateway lets go of the upstream.

Behaviours are small coroutines over a ``Conn``; the factories below cover the
faults the gateway must survive. ``closed_port()`` gives a port nothing listens on.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.fakes.openai_fake import chunk, completion

SSE_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache"}


@dataclass
class Connection:
    """One accepted connection, as the fake saw it (times are ``time.monotonic()``)."""

    accepted_at: float
    method: str = ""
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    closed_at: float | None = None
    closed_by_peer: bool = False


class Conn:
    """The fake's side of one connection: helpers to answer, stall or reset."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log: Connection) -> None:
        self.reader = reader
        self.writer = writer
        self.log = log

    async def head(self, status: int = 200, headers: dict[str, str] | None = None, *,
                   length: int | None = None) -> None:
        """Status line and headers; chunked transfer encoding unless ``length`` is given."""
        lines = [f"HTTP/1.1 {status} {'OK' if status < 400 else 'Error'}"]
        all_headers = {"connection": "close", **(headers or {})}
        if length is None:
            all_headers["transfer-encoding"] = "chunked"
        else:
            all_headers["content-length"] = str(length)
        lines += [f"{k}: {v}" for k, v in all_headers.items()]
        await self.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def chunk(self, data: bytes) -> None:
        """One HTTP chunk (chunked transfer encoding)."""
        await self.send(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    async def end_chunks(self) -> None:
        await self.send(b"0\r\n\r\n")

    async def json(self, body: bytes, status: int = 200) -> None:
        await self.head(status, {"content-type": "application/json"}, length=len(body))
        await self.send(body)

    def reset(self) -> None:
        """Close with a TCP RST (``SO_LINGER`` 0) instead of a FIN."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def hold(self) -> None:
        """Send nothing more; return when the peer closes the connection."""
        with contextlib.suppress(ConnectionError):
            while await self.reader.read(65536):
                pass
        self.log.closed_by_peer = True


Behaviour = Callable[[Conn], Awaitable[None]]


def sse_frames(events: Iterable[Any], *, done: bool = False) -> list[bytes]:
    frames = [b"data: " + orjson.dumps(e) + b"\n\n" for e in events]
    return [*frames, b"data: [DONE]\n\n"] if done else frames


def words_stream(words: Iterable[str], *, finish: bool = True, done: bool = True) -> list[bytes]:
    """An OpenAI chat stream: role chunk, one chunk per word, then finish and ``[DONE]``."""
    events = [chunk({"role": "assistant", "content": ""})] + [chunk({"content": w}) for w in words]
    if finish:
        events.append(chunk({}, "stop"))
    return sse_frames(events, done=done and finish)


def ok(reply: str = "fine") -> Behaviour:
    """A correct answer: a completion, or a complete stream when the request asked for one."""

    async def run(conn: Conn) -> None:
        if (conn.log.body or {}).get("stream"):
            await stream(words_stream(re.findall(r"\S+\s*", reply)))(conn)
        else:
            await conn.json(orjson.dumps(completion(reply)))

    return run


def stream(frames: list[bytes], *, gap: float = 0.0) -> Behaviour:
    """A 200 event stream of ``frames``, ``gap`` seconds apart, ended cleanly."""

    async def run(conn: Conn) -> None:
        await conn.head(200, SSE_HEADERS)
        for i, frame in enumerate(frames):
            if i and gap:
                await asyncio.sleep(gap)
            await conn.chunk(frame)
        await conn.end_chunks()

    return run


def raw(data: bytes) -> Behaviour:
    """Send ``data`` as is (a broken status line, say), then close."""

    async def run(conn: Conn) -> None:
        await conn.send(data)

    return run


def json_body(body: bytes, status: int = 200) -> Behaviour:
    """A JSON response whose body is ``body`` verbatim (it need not be valid JSON)."""

    async def run(conn: Conn) -> None:
        await conn.json(body, status)

    return run


def reset_before_response() -> Behaviour:
    async def run(conn: Conn) -> None:
        conn.reset()

    return run


def reset_after(frames: list[bytes]) -> Behaviour:
    """Headers and ``frames`` of an event stream, then a reset."""

    async def run(conn: Conn) -> None:
        await conn.head(200, SSE_HEADERS)
        for frame in frames:
            await conn.chunk(frame)
        await asyncio.sleep(0.05)
        conn.reset()

    return run


def reset_mid_body(body: bytes) -> Behaviour:
    """A JSON response announcing ``body``'s length, half of it, then a reset."""

    async def run(conn: Conn) -> None:
        await conn.head(200, {"content-type": "application/json"}, length=len(body))
        await conn.send(body[: len(body) // 2])
        await asyncio.sleep(0.05)
        conn.reset()

    return run


def stall_before_headers() -> Behaviour:
    async def run(conn: Conn) -> None:
        await conn.hold()

    return run


def stall_after(frames: list[bytes]) -> Behaviour:
    """Headers and ``frames`` of an event stream, then silence until the peer closes."""

    async def run(conn: Conn) -> None:
        await conn.head(200, SSE_HEADERS)
        for frame in frames:
            await conn.chunk(frame)
        await conn.hold()

    return run


def stall_mid_body(body: bytes) -> Behaviour:
    """A JSON response announcing ``body``'s length, half of it, then silence."""

    async def run(conn: Conn) -> None:
        await conn.head(200, {"content-type": "application/json"}, length=len(body))
        await conn.send(body[: len(body) // 2])
        await conn.hold()

    return run


def truncated_body(body: bytes) -> Behaviour:
    """A JSON response announcing ``body``'s length, half of it, then a clean close."""

    async def run(conn: Conn) -> None:
        await conn.head(200, {"content-type": "application/json"}, length=len(body))
        await conn.send(body[: len(body) // 2])

    return run


class FaultyUpstream:
    """Serve scripted behaviours on ``127.0.0.1:<free port>`` from a background thread.

    ``enqueue`` scripts the next connections, one behaviour each; unscripted ones get
    ``ok()``. ``stop`` aborts whatever is still open.
    """

    def __init__(self) -> None:
        self.connections: list[Connection] = []
        self._script: deque[Behaviour] = deque()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def enqueue(self, *behaviours: Behaviour) -> None:
        self._script.extend(behaviours)

    def start(self) -> FaultyUpstream:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def wait_closed(self, index: int, timeout: float = 5.0) -> Connection:
        """Connection ``index`` once it is closed; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.connections) <= index or self.connections[index].closed_at is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"connection {index} still open after {timeout}s")
            time.sleep(0.005)
        return self.connections[index]

    def _call(self, coro: Awaitable[Any]) -> Any:
        async def wrapped() -> Any:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop).result(timeout=10)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        log = Connection(accepted_at=time.monotonic())
        self.connections.append(log)
        try:
            await _read_request(reader, log)
            behaviour = self._script.popleft() if self._script else ok()
            await behaviour(Conn(reader, writer, log))
        except (ConnectionError, asyncio.IncompleteReadError):
            log.closed_by_peer = True
        finally:
            log.closed_at = time.monotonic()
            if not writer.transport.is_closing():
                writer.close()
            self._tasks.discard(task)


async def _read_request(reader: asyncio.StreamReader, log: Connection) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    log.method, log.path, _ = request_line.split(" ", 2)
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            log.headers[name.strip().lower()] = value.strip()
    length = int(log.headers.get("content-length", "0"))
    data = await reader.readexactly(length) if length else b""
    log.body = orjson.loads(data) if data else None


def closed_port() -> int:
    """A loopback port with nothing listening (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
