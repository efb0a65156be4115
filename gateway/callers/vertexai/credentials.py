"""The service-account key: JSON text, or the path of a JSON file.

``service_account_key`` comes from ``GOOGLE_APPLICATION_CREDENTIALS``, which by
Google's convention holds a *file path*; a credential given in the config file or
a verify request may instead hold the JSON text itself. Both are accepted: a
value that starts with ``{`` is JSON, anything else is a path read here.

Reference: Google Cloud "Create and delete service account keys" (the key file's
``type``, ``project_id``, ``private_key_id``, ``private_key``, ``client_email``,
``token_uri`` fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from gateway.errors import AuthenticationError

DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """What the JWT-bearer exchange needs; ``repr`` hides the private key."""

    client_email: str
    private_key: str
    token_uri: str
    private_key_id: str | None = None
    project_id: str | None = None

    def __repr__(self) -> str:
        return f"ServiceAccount(client_email={self.client_email!r})"


def _invalid(provider: str, problem: str) -> AuthenticationError:
    return AuthenticationError(f"{provider}: the service account key {problem}.", code="invalid_service_account",
                               provider=provider, source="deployment")


def _text(value: str, provider: str) -> str:
    if value.lstrip().startswith("{"):
        return value
    try:
        return Path(value).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise _invalid(provider, f"file cannot be read ({type(exc).__name__})") from None


def _field(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) and value else None


def load_service_account(value: str, provider: str) -> ServiceAccount:
    """Parse the key; raises ``AuthenticationError`` (``invalid_service_account``) naming the problem,
    never its content."""
    try:
        data = orjson.loads(_text(value, provider))
    except orjson.JSONDecodeError:
        raise _invalid(provider, "is not valid JSON") from None
    if not isinstance(data, dict):
        raise _invalid(provider, "is not a JSON object")
    if data.get("type", "service_account") != "service_account":
        raise _invalid(provider, f"has type {data.get('type')!r}; a 'service_account' key is needed")
    email, key = _field(data, "client_email"), _field(data, "private_key")
    if email is None or key is None:
        raise _invalid(provider, "lacks 'client_email' or 'private_key'")
    return ServiceAccount(
        client_email=email,
        private_key=key,
        token_uri=_field(data, "token_uri") or DEFAULT_TOKEN_URI,
        private_key_id=_field(data, "private_key_id"),
        project_id=_field(data, "project_id"),
    )
