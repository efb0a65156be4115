"""Where and how to reach Cohere: base URL, bearer auth, the error body shape.

Reference: Cohere API reference (docs.cohere.com/reference): every endpoint takes
``Authorization: Bearer <key>``; errors are ``{"id": ..., "message": "..."}``
with the HTTP status ("Errors (status codes and description)").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.callers.base import Credential
from gateway.callers.http import ErrorInfo, join_url, parse_common_error

NAME = "cohere"
DEFAULT_BASE_URL = "https://api.cohere.com"


@dataclass(frozen=True, slots=True)
class CohereWire:
    """The base URL (no version segment; paths carry ``v1``/``v2``) and the headers."""

    base_url: str
    headers: Mapping[str, str]
    provider: str = NAME

    def url(self, path: str) -> str:
        return join_url(self.base_url, path)


def cohere_wire(credential: Credential) -> CohereWire:
    """Raises ``AuthenticationError`` when no ``key`` is configured."""
    key = credential.require("key", NAME)
    return CohereWire(
        base_url=credential.get("base_url") or DEFAULT_BASE_URL,
        headers={"authorization": f"Bearer {key}"},
    )


def parse_cohere_error(body: Any) -> ErrorInfo | None:
    """``{"id": "...", "message": "..."}``; other shapes fall back to the common parser."""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return ErrorInfo(body["message"])
    return parse_common_error(body)


def as_int(value: Any) -> int | None:
    """A token count: Cohere's schema types them as numbers, so ``12`` or ``12.0``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def obj(mapping: Any, key: str) -> dict[str, Any]:
    """``mapping[key]`` when both are JSON objects, else ``{}`` (tolerant reads of optional fields)."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, dict) else {}
