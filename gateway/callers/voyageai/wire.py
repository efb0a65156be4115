"""Where and how to reach Voyage AI: base URL, bearer auth, the error body shape.

Reference: Voyage AI API reference (docs.voyageai.com/reference, OpenAPI
"Voyage API" 1.1): server ``https://api.voyageai.com/v1``, header
``Authorization: Bearer <key>``; errors carry ``{"detail": ...}`` with the HTTP
status (a string, or a validation list on 422).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.callers.base import Credential
from gateway.callers.http import ErrorInfo, join_url, parse_common_error

NAME = "voyageai"
DEFAULT_BASE_URL = "https://api.voyageai.com"
API_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class VoyageWire:
    base_url: str
    headers: Mapping[str, str]
    provider: str = NAME

    def url(self, path: str) -> str:
        """``{base}/v1/{path}``; a base URL that already ends in ``/v1`` (as the SDK's
        ``base_url`` does) is not given a second one."""
        base = self.base_url.rstrip("/")
        if not base.endswith("/" + API_VERSION):
            base = join_url(base, API_VERSION)
        return join_url(base, path)


def voyage_wire(credential: Credential) -> VoyageWire:
    """Raises ``AuthenticationError`` when no ``key`` is configured."""
    key = credential.require("key", NAME)
    return VoyageWire(base_url=credential.get("base_url") or DEFAULT_BASE_URL,
                      headers={"authorization": f"Bearer {key}"})


def parse_voyage_error(body: Any) -> ErrorInfo | None:
    """``{"detail": "text"}``, or FastAPI-style ``{"detail": [{"loc", "msg", "type"}]}``."""
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            return ErrorInfo(detail)
        if isinstance(detail, list) and detail:
            messages = [str(item.get("msg")) for item in detail if isinstance(item, dict) and item.get("msg")]
            if messages:
                return ErrorInfo("; ".join(messages))
    return parse_common_error(body)


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def truncation(value: bool | None) -> dict[str, Any]:
    """The optional ``truncation`` field (Voyage's default is ``true``)."""
    return {} if value is None else {"truncation": value}
