"""Where and how to reach MiniMax, and how it reports errors.

Reference: MiniMax platform docs, "OpenAI API compatible" (base URL
``https://api.minimax.io/v1``, ``Authorization: Bearer <key>``) and "Error
Codes" (platform.minimax.io/docs/api-reference/errorcode). MiniMax may answer
HTTP 200 with ``base_resp: {"status_code": <non-zero>, "status_msg"}`` instead
of a completion: that is an error, mapped by ``status_code`` through the table
below, never by the message text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.callers.base import Credential
from gateway.callers.http import ErrorInfo, join_url, parse_common_error
from gateway.errors import GatewayError, UpstreamError, from_upstream_status

NAME = "minimax"
DEFAULT_BASE_URL = "https://api.minimax.io/v1"

STATUS_BY_CODE: dict[int, int] = {
    1000: 502,  # unknown error
    1001: 504,  # request timeout
    1002: 429,  # rate limit
    1004: 401,  # not authorized / token not match group
    1008: 429,  # insufficient balance: 429 "insufficient_quota", OpenAI's own status and code for it
    1024: 502,  # internal error
    1026: 400,  # input content flagged as sensitive
    1027: 400,  # output content flagged as sensitive
    1033: 502,  # system error
    1039: 429,  # token (TPM) limit
    1041: 429,  # connection limit
    2013: 400,  # invalid parameters
    2049: 401,  # invalid API key
}
"""MiniMax ``base_resp.status_code`` -> the HTTP status the client gets; others -> 502."""

CODE_NAMES: dict[int, str] = {
    1002: "rate_limit_exceeded",
    1004: "invalid_api_key",
    1008: "insufficient_quota",
    1039: "rate_limit_exceeded",
    2013: "invalid_request",
    2049: "invalid_api_key",
}
"""The OpenAI-style ``code`` for the envelope; other codes are sent as the number."""


@dataclass(frozen=True, slots=True)
class MiniMaxWire:
    base_url: str
    headers: Mapping[str, str]
    provider: str = NAME

    def url(self, path: str) -> str:
        return join_url(self.base_url, path)


def minimax_wire(credential: Credential) -> MiniMaxWire:
    key = credential.require("key", NAME)
    return MiniMaxWire(credential.get("base_url") or DEFAULT_BASE_URL, {"authorization": f"Bearer {key}"})


def _base_resp(body: Any) -> tuple[int, str] | None:
    """``(status_code, status_msg)`` of a non-zero ``base_resp``, else ``None``."""
    base = body.get("base_resp") if isinstance(body, dict) else None
    if not isinstance(base, dict):
        return None
    code = base.get("status_code")
    if not isinstance(code, int) or isinstance(code, bool) or code == 0:
        return None
    return code, str(base.get("status_msg") or "error")


def parse_minimax_error(body: Any) -> ErrorInfo | None:
    """An error body: ``base_resp`` or the OpenAI shape ``{"error": {...}}``."""
    found = _base_resp(body)
    if found is not None:
        code, message = found
        return ErrorInfo(f"{message} (MiniMax status_code {code})", CODE_NAMES.get(code, str(code)))
    return parse_common_error(body)


def base_resp_error(body: Any) -> GatewayError | None:
    """The error a 2xx body with a non-zero ``base_resp`` stands for, else ``None``."""
    found = _base_resp(body)
    if found is None:
        return None
    code, message = found
    return from_upstream_status(
        STATUS_BY_CODE.get(code, 502), f"{message} (MiniMax status_code {code})", provider=NAME,
        code=CODE_NAMES.get(code, str(code)),
    )


def error_in_body(body: Any) -> GatewayError | None:
    """The error a 2xx body (a completion, a stream event) carries instead of a
    result: a non-zero ``base_resp``, or an ``error`` object and no ``choices``."""
    error = base_resp_error(body)
    if error is not None or not isinstance(body, dict):
        return error
    if "error" not in body or body.get("choices"):
        return None
    info = parse_common_error(body) or ErrorInfo("error event from the provider")
    return UpstreamError(f"{NAME}: {info.message}", code=info.code or "upstream_stream_error", provider=NAME)
