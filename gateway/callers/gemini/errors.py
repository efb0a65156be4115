"""Google API error bodies (``google.rpc.Status``) -> gateway errors.

Shape (Gemini API "Troubleshooting"; Google AIP-193 "Errors")::

    {"error": {"code": 429, "message": "...", "status": "RESOURCE_EXHAUSTED",
               "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "31s"}, ...]}}

The HTTP status decides the error class (``from_upstream_status``). Two
structured details refine it, as the status alone misleads:

* ``google.rpc.ErrorInfo.reason == "API_KEY_INVALID"``: the Gemini API answers a
  bad key with 400 INVALID_ARGUMENT; the client gets a 401 authentication error;
* ``google.rpc.RetryInfo.retryDelay``: Google sends no ``Retry-After`` header, so
  the delay becomes ``retry_after`` when no header gave one.

The same body can arrive as a ``data:`` event inside a stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from gateway.callers.http import ErrorInfo
from gateway.errors import AuthenticationError, GatewayError, UpstreamError, from_upstream_status

AUTH_REASONS = frozenset({"API_KEY_INVALID"})
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def _duration(value: Any) -> float | None:
    """A protobuf JSON ``Duration`` (``"31s"``, ``"0.5s"``) in seconds."""
    if isinstance(value, str) and value.endswith("s"):
        try:
            return max(0.0, float(value[:-1]))
        except ValueError:
            return None
    return None


def _status_object(body: Any) -> dict[str, Any] | None:
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error: dict[str, Any] = body["error"]
        return error
    return None


class GoogleErrorParser:
    """An ``ErrorParser`` for ``google.rpc.Status`` bodies, one per upstream call.

    Besides the ``ErrorInfo`` it returns, it remembers the structured reason and
    retry delay it saw, for ``google_errors`` to apply.
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self.retry_delay: float | None = None

    def __call__(self, body: Any) -> ErrorInfo | None:
        error = _status_object(body)
        if error is None:
            return None
        param: str | None = None
        for detail in error.get("details") or ():
            if not isinstance(detail, dict):
                continue
            kind = detail.get("@type")
            if kind == _ERROR_INFO and isinstance(detail.get("reason"), str):
                self.reason = detail["reason"]
            elif kind == _RETRY_INFO:
                self.retry_delay = _duration(detail.get("retryDelay"))
            elif kind == _BAD_REQUEST:
                violations = detail.get("fieldViolations") or [{}]
                field = violations[0].get("field") if isinstance(violations[0], dict) else None
                param = field if isinstance(field, str) else None
        message = error.get("message")
        text = message if isinstance(message, str) and message else orjson.dumps(error).decode()
        status = error.get("status")
        return ErrorInfo(text, self.reason or (status if isinstance(status, str) else None), param)

    def refine(self, exc: GatewayError) -> GatewayError:
        """``exc`` corrected with what the body said beyond its HTTP status."""
        if self.reason in AUTH_REASONS and not isinstance(exc, AuthenticationError):
            return AuthenticationError(exc.message, code=self.reason, provider=exc.provider, source=exc.source)
        if exc.retry_after is None and self.retry_delay is not None:
            exc.retry_after = self.retry_delay
        return exc


@contextmanager
def google_errors(parser: GoogleErrorParser) -> Iterator[None]:
    """Re-raise ``GatewayError``s from the block as ``parser.refine`` corrects them."""
    try:
        yield
    except GatewayError as exc:
        refined = parser.refine(exc)
        if refined is exc:
            raise
        raise refined from exc


def stream_error(chunk: Any, parser: GoogleErrorParser, provider: str) -> GatewayError:
    """The error for a ``{"error": {...}}`` event inside a stream, mapped by its ``code``."""
    info = parser(chunk)
    error = _status_object(chunk) or {}
    message = info.message if info else orjson.dumps(chunk).decode()
    code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and code >= 400:
        mapped = from_upstream_status(code, message, provider=provider, code=info.code if info else None,
                                      param=info.param if info else None)
        return parser.refine(mapped)
    return UpstreamError(f"{provider}: {message}", code=(info.code if info else None) or "upstream_stream_error",
                         provider=provider)
