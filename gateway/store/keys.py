"""Gateway API keys in the database: create, list, revoke, load.

A key is ``gw-`` followed by 43 URL-safe random characters (256 bits). Only its
SHA-256 is stored, so the clear key exists once: in ``create``'s return value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from gateway.store.models import API_KEYS

KEY_PREFIX = "gw-"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    key_hash: str
    prefix: str
    models: frozenset[str] | None
    rpm: int | None
    tpm: int | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def public(self) -> dict[str, object]:
        """What may be shown: everything but the hash."""
        return {
            "id": self.id, "name": self.name, "prefix": self.prefix,
            "models": sorted(self.models) if self.models is not None else None, "rpm": self.rpm, "tpm": self.tpm,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def _row_to_key(row: object) -> ApiKey:
    mapping = row._mapping  # type: ignore[attr-defined]
    models = mapping["models"]
    return ApiKey(
        id=mapping["id"], name=mapping["name"], key_hash=mapping["key_hash"], prefix=mapping["prefix"],
        models=frozenset(models) if models is not None else None, rpm=mapping["rpm"], tpm=mapping["tpm"],
        created_at=mapping["created_at"], expires_at=mapping["expires_at"], revoked_at=mapping["revoked_at"],
    )


class KeyStore:
    """Synchronous key operations (call them in a thread from async code)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, name: str, *, models: list[str] | None = None, rpm: int | None = None,
               tpm: int | None = None, expires_at: dt.datetime | None = None) -> tuple[str, ApiKey]:
        """Create a key; returns ``(clear key, record)``. The clear key is not kept anywhere.
        ``models=None`` allows every model; a list allows only those (an empty list, none)."""
        clear = KEY_PREFIX + secrets.token_urlsafe(32)
        row = {
            "id": "key_" + secrets.token_hex(6), "name": name, "key_hash": hash_key(clear), "prefix": clear[:10],
            "models": sorted(set(models)) if models is not None else None, "rpm": rpm, "tpm": tpm,
            "created_at": dt.datetime.now(dt.UTC), "expires_at": expires_at, "revoked_at": None,
        }
        with self._engine.begin() as connection:
            connection.execute(insert(API_KEYS), row)
        found = self.get(str(row["id"]))
        assert found is not None
        return clear, found

    def get(self, key_id: str) -> ApiKey | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(API_KEYS).where(API_KEYS.c.id == key_id)).first()
        return _row_to_key(row) if row is not None else None

    def find(self, key_hash: str) -> ApiKey | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(API_KEYS).where(API_KEYS.c.key_hash == key_hash)).first()
        return _row_to_key(row) if row is not None else None

    def all(self) -> list[ApiKey]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(API_KEYS).order_by(API_KEYS.c.created_at)).all()
        return [_row_to_key(row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        """Revoke ``key_id``; ``False`` if there is no such key (revoking twice is fine)."""
        with self._engine.begin() as connection:
            result = connection.execute(
                update(API_KEYS).where(API_KEYS.c.id == key_id, API_KEYS.c.revoked_at.is_(None))
                .values(revoked_at=dt.datetime.now(dt.UTC)))
        return result.rowcount > 0 or self.get(key_id) is not None
