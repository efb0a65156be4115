"""Anthropic error bodies and in-stream ``error`` events -> ``GatewayError``.

Reference: Anthropic API docs, "Errors": every error body is
``{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}``; the
``error.type`` names the HTTP status it stands for. The same object arrives as an
``error`` event inside a stream that already answered 200, so there the type is
the only status we have.
"""

from __future__ import annotations

from typing import Any

from gateway.callers.http import ErrorInfo, parse_common_error
from gateway.errors import GatewayError, UpstreamError, from_upstream_status

# Anthropic error type -> the HTTP status its docs give for it.
ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def parse_anthropic_error(body: Any) -> ErrorInfo | None:
    """``ErrorParser`` for Anthropic bodies: message and ``code`` = ``error.type``.

    Bodies of another shape (a proxy in front of the API) fall back to the common parser.
    """
    if isinstance(body, dict) and body.get("type") == "error" and isinstance(body.get("error"), dict):
        error = body["error"]
        kind = error.get("type")
        message = error.get("message")
        return ErrorInfo(
            message if isinstance(message, str) and message else f"Anthropic error ({kind or 'unknown'})",
            kind if isinstance(kind, str) else None,
        )
    return parse_common_error(body)


def stream_error(payload: Any, provider: str) -> GatewayError:
    """The error for an ``error`` event received mid-stream, mapped by ``error.type``.

    Unknown types are an ``UpstreamError`` (502): the fault is the provider's.
    """
    info = parse_anthropic_error(payload) or ErrorInfo("the provider sent an error event")
    status = ERROR_STATUS.get(info.code or "")
    if status is None:
        return UpstreamError(f"{provider}: {info.message}", code=info.code or "upstream_stream_error",
                             provider=provider)
    return from_upstream_status(status, info.message, provider=provider, code=info.code)
