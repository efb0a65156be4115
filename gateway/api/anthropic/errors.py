"""Errors on the Anthropic routes, in Anthropic's envelope.

Reference: Anthropic API docs, "Errors": ``{"type": "error", "error": {"type", "message"},
"request_id"}``, the type naming the status (so the official SDK raises its matching class).

Every error the application answers is first the OpenAI envelope (``gateway.api.errors``),
whoever raised it: the auth middleware (401, 429), the body gate (413), validation (400) or
the route. ``AnthropicErrorMiddleware`` rewrites those answers into this envelope for the
paths under ``PREFIX``, keeping status and headers; nothing else passes through it changed.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.anthropic.render import error_event, error_object
from gateway.errors import GatewayError

PREFIX = "/v1/messages"

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    """Anthropic's error type for ``status``."""
    return _TYPES.get(status) or ("invalid_request_error" if status < 500 else "api_error")


def error_frame(exc: GatewayError) -> bytes:
    """The ``event: error`` frame of an error after a stream's first byte."""
    return error_event(error_type(exc.status), exc.message)


def anthropic_envelope(status: int, body: bytes, request_id: str | None) -> bytes:
    """The Anthropic envelope for an error answer with ``body`` (the OpenAI envelope, whose
    message is kept; any other body gives a generic message)."""
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    inner = parsed.get("error") if isinstance(parsed, dict) else None
    text = inner.get("message") if isinstance(inner, dict) else None
    out: dict[str, Any] = error_object(error_type(status), text if isinstance(text, str) else "Request failed.")
    if request_id:
        out["request_id"] = request_id
    return orjson.dumps(out)


def _is_ours(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    path = path[len(root):] if root and path.startswith(root) else path
    return path == PREFIX or path.startswith(PREFIX + "/")


class AnthropicErrorMiddleware:
    """Rewrites JSON error answers (status >= 400) under ``PREFIX`` into Anthropic's envelope;
    it must sit outside every layer that answers errors."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_ours(scope):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message["headers"]))
                if message["status"] < 400 or not headers.get("content-type", "").startswith("application/json"):
                    await send(message)
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await _send_rewritten(send, start, b"".join(chunks))

        await self.app(scope, receive, rewrite)


async def _send_rewritten(send: Send, start: Message, body: bytes) -> None:
    headers = MutableHeaders(raw=list(start["headers"]))
    new = anthropic_envelope(start["status"], body, headers.get("x-request-id"))
    headers["content-length"] = str(len(new))
    await send({**start, "headers": headers.raw})
    await send({"type": "http.response.body", "body": new, "more_body": False})
