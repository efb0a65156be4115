"""Pure-ASGI middleware: the request id every response carries."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.core.ids import new_request_id

_MAX_ID = 128


def _valid_id(value: bytes) -> bool:
    return 0 < len(value) <= _MAX_ID and all(0x21 <= b <= 0x7E for b in value)


class RequestIdMiddleware:
    """Honours a client's ``x-request-id`` (if printable and at most 128 bytes),
    otherwise makes one; exposes it as ``request.state.request_id`` and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id" and _valid_id(value):
                request_id = value.decode("ascii")
                break
        request_id = request_id or new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["started_ns"] = time.perf_counter_ns()
        header = (b"x-request-id", request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)
