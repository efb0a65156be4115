"""Opt-in capture of provider request and response bodies, redacted, for the record.

``BodyCapture.on_request`` / ``on_response`` are the ``pre_hook`` / ``post_hook`` a
caller runs with the provider body; each stores a redacted, JSON-safe copy
(``redact_body``): values under credential-like keys (``authorization``,
``api-key``, ``x-api-key``, ``key``, ``token``, ``secret``, ``password``,
``credential*``, ...) are masked; known secret values and credential-shaped tokens
are masked inside every string; ``data:`` URLs (inline images) are cut to their
header. A body still larger than ``limit`` bytes of JSON is shortened further
(long strings, then long lists), and a shortened body carries ``"truncated": true``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.callers.base import Credential
from gateway.logging import MASK, Redactor
from gateway.service.routing import Router

BODY_LIMIT = 64 * 1024
"""Largest captured body, in bytes of JSON."""

_DATA_URL_KEEP = 64
_SHORT_STRING = 512
_SHORT_LIST = 32
_SECRET_NAMES = frozenset({
    "authorization", "proxy-authorization", "api-key", "apikey", "x-api-key", "x-goog-api-key", "key", "token",
    "access-token", "refresh-token", "id-token", "auth-token", "secret", "client-secret", "password", "passwd",
})
_SECRET_SUFFIXES = ("-api-key", "-secret", "-password")


def secret_name(name: str) -> bool:
    """Whether a mapping key names a credential (case and ``_``/``-`` insensitive)."""
    normalized = name.lower().replace("_", "-")
    return normalized in _SECRET_NAMES or normalized.startswith("credential") or normalized.endswith(_SECRET_SUFFIXES)


def known_secrets(router: Router, *extra: str | None) -> list[str]:
    """Every secret value the gateway holds: each provider's credential, each alias's own
    credential, and ``extra`` (the master key)."""
    values = [s for spec in router.registry for s in router.credential(spec.name).secrets()]
    values += [s for alias in router.config.models for s in Credential(alias.credential).secrets()]
    values += [s for s in extra if s]
    return values


@dataclass(slots=True)
class _Walk:
    redact: Redactor
    string_limit: int | None = None
    list_limit: int | None = None
    truncated: bool = False

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, Mapping):
            return {str(k): MASK if secret_name(str(k)) and v not in (None, "") else self.value(v)
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return self.sequence(value)
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)
        return self.string(str(value))

    def sequence(self, items: Sequence[Any]) -> list[Any]:
        if self.list_limit is None or len(items) <= self.list_limit:
            return [self.value(v) for v in items]
        self.truncated = True
        kept = [self.value(v) for v in items[: self.list_limit]]
        return [*kept, f"...[{len(items) - self.list_limit} more items]"]

    def string(self, text: str) -> str:
        if text.startswith("data:") and len(text) > _DATA_URL_KEEP:
            self.truncated = True
            head = text.split(",", 1)[0] if "," in text[:_DATA_URL_KEEP] else text[:_DATA_URL_KEEP]
            return f"{head},...[{len(text)} characters]"
        if self.string_limit is not None and len(text) > self.string_limit:
            self.truncated = True
            return self.redact(text[: self.string_limit]) + f"...[{len(text)} characters]"
        return self.redact(text)


def redact_body(body: Mapping[str, Any], redact: Redactor, limit: int = BODY_LIMIT) -> dict[str, Any]:
    """A redacted, JSON-safe copy of ``body`` of at most about ``limit`` bytes of JSON."""
    size = 0
    for string_limit, list_limit in ((None, None), (_SHORT_STRING, None), (_SHORT_STRING, _SHORT_LIST)):
        walk = _Walk(redact, string_limit, list_limit)
        copy: dict[str, Any] = walk.value(body)
        size = len(orjson.dumps(copy))
        if size <= limit:
            if walk.truncated:
                copy["truncated"] = True
            return copy
    return {"truncated": True, "bytes": size, "keys": sorted(str(k) for k in body)[:100]}


class BodyCapture:
    """Holds the redacted bodies of one request; its methods are the caller hooks.
    With retries, the last attempt's bodies win."""

    __slots__ = ("_base", "_extra", "_redactor", "limit", "request", "response")

    def __init__(self, secrets: Iterable[str], limit: int = BODY_LIMIT) -> None:
        self._base = tuple(secrets)
        self._extra: tuple[str, ...] = ()
        self._redactor = Redactor(self._base)
        self.limit = limit
        self.request: dict[str, Any] | None = None
        self.response: dict[str, Any] | None = None

    def also_mask(self, secrets: Iterable[str]) -> None:
        """Add the secrets of the deployment now being tried (an alias's own credential)."""
        extra = tuple(s for s in secrets if s not in self._base)
        if extra != self._extra:
            self._extra = extra
            self._redactor = Redactor((*self._base, *extra))

    def on_request(self, body: Mapping[str, Any]) -> None:
        self.request = self._redacted(body)

    def on_response(self, body: Mapping[str, Any]) -> None:
        self.response = self._redacted(body)

    def _redacted(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Capture is diagnostics: a body it cannot copy (nested too deeply, say) is noted,
        never allowed to fail the request."""
        try:
            return redact_body(body, self._redactor, self.limit)
        except (RecursionError, TypeError, ValueError) as exc:
            return {"truncated": True, "capture_error": type(exc).__name__}
