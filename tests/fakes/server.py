"""Run an ASGI app on a real loopback port in a background thread.

``FakeUpstream`` adds what every provider fake needs: a log of the requests it
received (method, path, query, headers, JSON body), a log of every request target
exactly as it arrived on the wire (``wire``, routed or not), and a queue of scripted
responses that override the fake's default behaviour, one per request.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Self

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class ServerThread:
    """Serve ``app`` with uvicorn on ``127.0.0.1:<free port>`` until ``stop()``."""

    def __init__(self, app: Any) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server thread failed to start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    client_port: int | None = None

    def json(self) -> Any:
        return self.body


@dataclass
class Scripted:
    """A canned answer: JSON, raw bytes, or an SSE/line stream with pacing."""

    status: int = 200
    json: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: list[bytes] | None = None
    delay: float = 0.0
    gap: float = 0.0
    media_type: str = "application/json"
    hold_after: int | None = None
    release: threading.Event | None = None
    """With ``hold_after=k``, the stream pauses after frame ``k`` until ``release`` is set."""


def sse(events: Iterable[Any], *, named: bool = False, done: bool = False) -> list[bytes]:
    """Frame objects as ``data:`` events (``named``: items are ``(event, data)`` pairs)."""
    frames: list[bytes] = []
    for item in events:
        if named:
            name, data = item
            frames.append(b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n")
        else:
            frames.append(b"data: " + orjson.dumps(item) + b"\n\n")
    if done:
        frames.append(b"data: [DONE]\n\n")
    return frames


Handler = Callable[[Request, Any], Any]


class WireLog:
    """ASGI wrapper appending ``(method, raw target)`` of every HTTP request to ``targets``:
    the path bytes as sent (``scope["raw_path"]``, not percent-decoded or normalized), plus
    ``?query`` when there is one."""

    def __init__(self, app: ASGIApp, targets: list[tuple[str, str]]) -> None:
        self.app, self.targets = app, targets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope["path"].encode()
            query = scope.get("query_string") or b""
            target = raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
            self.targets.append((scope["method"], target))
        await self.app(scope, receive, send)


class FakeUpstream:
    """Base for provider fakes. Subclasses add routes with ``self.route(path, handler)``;
    a handler gets ``(request, parsed_json_body)`` and returns a ``Scripted`` or a Response."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.wire: list[tuple[str, str]] = []
        self._script: deque[Scripted] = deque()
        self._app = Starlette()
        self._server: ServerThread | None = None
        self.closed_streams = 0
        self.routes()

    def routes(self) -> None:
        raise NotImplementedError

    def route(self, path: str, handler: Handler, methods: tuple[str, ...] = ("POST",)) -> None:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                body = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                body = raw
            self.requests.append(Recorded(request.method, request.url.path, dict(request.query_params),
                                          {k.lower(): v for k, v in request.headers.items()}, body,
                                          request.client.port if request.client else None))
            answer = self._script.popleft() if self._script else handler(request, body)
            return await self._render(answer)

        self._app.add_route(path, endpoint, methods=list(methods))

    def enqueue(self, *answers: Scripted) -> None:
        self._script.extend(answers)

    async def _render(self, answer: Any) -> Response:
        if isinstance(answer, Response):
            return answer
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.stream is not None:
            return StreamingResponse(self._paced(answer), status_code=answer.status, headers=answer.headers,
                                     media_type=answer.media_type)
        if answer.raw is not None:
            return Response(answer.raw, status_code=answer.status, headers=answer.headers,
                            media_type=answer.media_type)
        return JSONResponse(answer.json, status_code=answer.status, headers=answer.headers)

    async def _paced(self, answer: Scripted) -> AsyncIterator[bytes]:
        try:
            for i, frame in enumerate(answer.stream or ()):
                if i and answer.gap:
                    await asyncio.sleep(answer.gap)
                yield frame
                if i == answer.hold_after and answer.release is not None:
                    await asyncio.to_thread(answer.release.wait, 30)
        finally:
            self.closed_streams += 1

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    def start(self) -> Self:
        self._server = ServerThread(WireLog(self._app, self.wire)).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
