"""Pure-ASGI middleware for the exceptions no route or exception handler took.

It sits innermost (just outside the routing and the exception handlers), so what it sends
still passes the request-id and access-log middleware. An exception that says the database
is unavailable (``gateway.store.dberrors.is_unavailable``) is a 503 ``database_unavailable``,
logged as one WARNING line without traceback; any other is a 500 ``internal_error``, logged
once at ERROR with its traceback on ``gateway.api``. Neither is re-raised, so the server
neither logs it again nor drops the connection. SQLAlchemy errors are logged without their
bound parameters. If the response had already started, the exception propagates unlogged:
the server logs it and closes the connection, the only way left to tell the client.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.errors import envelope
from gateway.api.responses import JSONResponse
from gateway.store.dberrors import hide_parameters, is_unavailable

log = logging.getLogger("gateway.api")

_MAX_PATH = 256
DATABASE_UNAVAILABLE = envelope("The gateway's database is unavailable; retry shortly.", "service_unavailable",
                                None, "database_unavailable")
INTERNAL_ERROR = envelope("Internal server error.", "server_error", None, "internal_error")


def _shown(path: str) -> str:
    """``path`` safe for one log line: control characters escaped, capped."""
    if not path.isprintable():
        path = path.encode("unicode_escape").decode("ascii")
    return path if len(path) <= _MAX_PATH else path[:_MAX_PATH] + "..."


class UnhandledErrorMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            hide_parameters(exc)
            if started:
                raise
            await self._answer(scope, exc)(scope, receive, send)

    @staticmethod
    def _answer(scope: Scope, exc: Exception) -> JSONResponse:
        where = (scope.get("method", "-"), _shown(scope.get("path", "")),
                 scope.get("state", {}).get("request_id", "-"))
        if is_unavailable(exc):
            log.warning("database unavailable on %s %s (request %s): %s", *where, type(exc).__name__)
            return JSONResponse(DATABASE_UNAVAILABLE, status_code=503)
        log.error("unhandled error on %s %s (request %s)", *where, exc_info=exc)
        return JSONResponse(INTERNAL_ERROR, status_code=500)
