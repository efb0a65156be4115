"""Pure-ASGI middleware: the request id every response carries, and the access log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.core.ids import new_request_id
from gateway.service.tracking import CLIENT_CLOSED_REQUEST, Timing

NO_CLIENT_RETRY = (b"x-should-retry", b"false")
"""Sent on an error response after the gateway itself made more than one provider attempt: the
OpenAI SDKs honour it, so a client's retries do not multiply the gateway's."""

_MAX_ID = 128
_MAX_FIELD = 256

access_logger = logging.getLogger("gateway.access")

ACCESS_FORMAT = ('%(client)s - "%(method)s %(path)s" %(status)d %(duration_ms).1fms '
                 "model=%(model)s provider=%(provider)s request_id=%(request_id)s")
"""One line per request. ``status`` is the status sent, except 499 when the client went
away before the response was complete and 500 when the application raised before
answering; ``model`` is as the client named it and ``provider`` the one last tried (``-``
when the request never got that far); ``path`` has no query string."""


def _valid_id(value: bytes) -> bool:
    return 0 < len(value) <= _MAX_ID and all(0x21 <= b <= 0x7E for b in value)


def _field(value: str | None) -> str:
    """``value`` safe for one log line: ``-`` if absent, control characters escaped, capped."""
    if not value:
        return "-"
    if not value.isprintable():
        value = value.encode("unicode_escape").decode("ascii")
    return value if len(value) <= _MAX_FIELD else value[:_MAX_FIELD] + "..."


@dataclass(slots=True)
class _Response:
    status: int = 0
    complete: bool = False


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"


def log_access(scope: Scope, request_id: str, timing: Timing, response: _Response, raised: bool) -> None:
    """Write the access line for a finished request (``ACCESS_FORMAT``; its values are the
    record's argument, a mapping, so the JSON format shows them as fields)."""
    if response.complete:
        status = response.status
    elif raised:
        status = response.status or 500
    else:
        status = CLIENT_CLOSED_REQUEST
    access_logger.info(ACCESS_FORMAT, {
        "client": _client(scope), "method": scope.get("method", "-"), "path": _field(scope.get("path")),
        "status": status, "duration_ms": round((time.perf_counter_ns() - timing.started_ns) / 1e6, 3),
        "model": _field(timing.model), "provider": timing.provider or "-", "request_id": request_id,
    })


class RequestIdMiddleware:
    """Honours a client's ``x-request-id`` (if printable and at most 128 bytes),
    otherwise makes one; exposes it as ``request.state.request_id`` and echoes it.

    Also starts the request's ``Timing`` (``request.state.timing``) and sends the
    gateway's own overhead so far (total time minus time waiting on providers) as
    ``x-gateway-overhead-ms`` (retry back-off sleeps are not overhead either), and
    ``x-should-retry: false`` on an error after more than one provider attempt; when the
    response ends the whole overhead is observed in ``observe_overhead`` (endpoint path,
    seconds), if given.

    With ``access_log``, one line per request goes to the ``gateway.access`` logger at
    INFO once the application is done with it (for a stream: when it ended, or the
    client went away); nothing is formatted while that logger is disabled for INFO."""

    def __init__(self, app: ASGIApp, observe_overhead: Callable[[str, float], None] | None = None,
                 access_log: bool = False) -> None:
        self.app = app
        self._observe = observe_overhead
        self._access_log = access_log

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
        response = _Response()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                response.status = message["status"]
                overhead = f"{timing.overhead_ms():.3f}".encode()
                message["headers"] = [*message.get("headers", []), header, (b"x-gateway-overhead-ms", overhead)]
                if response.status >= 400 and timing.attempts > 1:
                    message["headers"].append(NO_CLIENT_RETRY)
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                response.complete = True
                if observe is not None:
                    observe(path, timing.overhead_ms() / 1000)
            await send(message)

        if not self._access_log:
            await self.app(scope, receive, send_with_id)
            return
        raised = True
        try:
            await self.app(scope, receive, send_with_id)
            raised = False
        finally:
            if access_logger.isEnabledFor(logging.INFO):
                log_access(scope, request_id, timing, response, raised)
