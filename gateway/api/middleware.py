"""Pure-ASGI middleware: the request id every response carries."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.core.ids import new_request_id
from gateway.service.tracking import Timing

_MAX_ID = 128


def _valid_id(value: bytes) -> bool:
    return 0 < len(value) <= _MAX_ID and all(0x21 <= b <= 0x7E for b in value)


class RequestIdMiddleware:
    """Honours a client's ``x-request-id`` (if printable and at most 128 bytes),
    otherwise makes one; exposes it as ``request.state.request_id`` and echoes it.

    Also starts the request's ``Timing`` (``request.state.timing``) and sends the
    gateway's own overhead so far (total time minus time waiting on providers) as
    ``x-gateway-overhead-ms``; when the response ends the whole overhead is observed
    in ``observe_overhead`` (endpoint path, seconds), if given."""

    def __init__(self, app: ASGIApp, observe_overhead: Callable[[str, float], None] | None = None) -> None:
        self.app = app
        self._observe = observe_overhead

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
        timing = Timing()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["started_ns"] = timing.started_ns
        state["timing"] = timing
        header = (b"x-request-id", request_id.encode("ascii"))
        observe, path = self._observe, scope.get("path", "")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                overhead = f"{timing.overhead_ms():.3f}".encode()
                message["headers"] = [*message.get("headers", []), header, (b"x-gateway-overhead-ms", overhead)]
            elif observe is not None and message["type"] == "http.response.body" and not message.get("more_body"):
                observe(path, timing.overhead_ms() / 1000)
            await send(message)

        await self.app(scope, receive, send_with_id)
