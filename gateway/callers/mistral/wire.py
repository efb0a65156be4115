"""Where and how to reach the Mistral API: base URL, auth header, error bodies.

Reference: Mistral AI API reference (https://docs.mistral.ai/api/) and the
``mistralai`` client generated from Mistral's OpenAPI document: every endpoint
lives under ``/v1/`` of the server URL (``https://api.mistral.ai``), auth is
``Authorization: Bearer <key>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.callers.base import Credential
from gateway.callers.http import ErrorInfo, join_url, parse_common_error
from gateway.errors import GatewayError, UpstreamError, from_upstream_status

NAME = "mistral"
DEFAULT_BASE_URL = "https://api.mistral.ai"


@dataclass(frozen=True, slots=True)
class MistralWire:
    """``base_url`` is the server URL, as the official SDK's ``server_url``; a
    URL that already ends in ``/v1`` is accepted too."""

    base_url: str
    headers: Mapping[str, str]
    provider: str = NAME

    def url(self, path: str) -> str:
        base = self.base_url.rstrip("/")
        if not base.endswith("/v1"):
            base += "/v1"
        return join_url(base, path)


def mistral_wire(credential: Credential) -> MistralWire:
    key = credential.require("key", NAME)
    return MistralWire(credential.get("base_url") or DEFAULT_BASE_URL, {"authorization": f"Bearer {key}"})


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _param(loc: Any) -> str | None:
    """``["body", "messages", 0, "content"]`` -> ``messages[0].content``."""
    if not isinstance(loc, list):
        return None
    parts = loc[1:] if loc[:1] == ["body"] else loc
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or None


def _validation(detail: Any) -> ErrorInfo | None:
    """A FastAPI-style ``detail``: a string, or a list of ``{loc, msg, type}``."""
    if isinstance(detail, str):
        return ErrorInfo(detail)
    if not isinstance(detail, list) or not detail:
        return None
    lines: list[str] = []
    first: str | None = None
    for item in detail:
        if not isinstance(item, dict):
            continue
        param = _param(item.get("loc"))
        first = first or param
        message = _text(item.get("msg")) or _text(item.get("type")) or "invalid value"
        lines.append(f"{param}: {message}" if param else message)
    if not lines:
        return ErrorInfo(orjson.dumps(detail).decode(), "validation_error")
    return ErrorInfo("; ".join(lines), "validation_error", first)


def parse_mistral_error(body: Any) -> ErrorInfo | None:
    """Mistral's error bodies: ``{"object": "error", "message": str | {"detail": [...]},
    "type", "param", "code"}``, a bare ``{"detail": [...]}`` (422 validation) or
    ``{"message": "Unauthorized"}`` (gateway errors)."""
    if not isinstance(body, dict):
        return None
    code = _text(body.get("code")) or _text(body.get("type"))
    message = body.get("message")
    if isinstance(message, dict):
        nested = _validation(message.get("detail"))
        if nested is not None:
            return ErrorInfo(nested.message, code or nested.code, nested.param)
    if isinstance(message, str):
        return ErrorInfo(message, code, _text(body.get("param")))
    detail = _validation(body.get("detail"))
    return detail if detail is not None else parse_common_error(body)


def is_error_body(body: dict[str, Any]) -> bool:
    """An error object where a completion or chunk was expected."""
    if body.get("object") == "error":
        return True
    return "choices" not in body and any(key in body for key in ("error", "message", "detail"))


def error_in_body(body: dict[str, Any]) -> GatewayError:
    """The error for an error object received with a 2xx status (e.g. inside a
    stream). ``raw_status_code``, when Mistral sends it, decides the class."""
    info = parse_mistral_error(body) or ErrorInfo(orjson.dumps(body).decode())
    status = body.get("raw_status_code")
    if isinstance(status, int) and not isinstance(status, bool) and status >= 400:
        return from_upstream_status(status, info.message, provider=NAME, code=info.code, param=info.param)
    return UpstreamError(f"{NAME}: {info.message}", code=info.code or "upstream_stream_error", provider=NAME)
