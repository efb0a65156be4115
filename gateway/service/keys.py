"""Who is calling: the master key, a gateway key, or nobody (unauthenticated mode).

``KeyRing`` keeps every key's hash in memory, refreshed in the background, so
authenticating never waits on the database, and a database outage is never a
401: a key seen before keeps working from memory; an unknown key is looked up
once (and remembered as unknown for a few seconds), and if the database cannot
answer the client gets 503, not 401.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from gateway.errors import AuthenticationError, PermissionDeniedError, ServiceUnavailableError
from gateway.store.keys import ApiKey, KeyStore, hash_key

log = logging.getLogger("gateway.keys")

_UNKNOWN_TTL = 5.0
_UNKNOWN_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller. ``key`` is ``None`` for the master key and in unauthenticated mode."""

    admin: bool
    key: ApiKey | None = None


ANONYMOUS = Principal(admin=True)


class KeyRing:
    def __init__(self, store: KeyStore, master_key: str | None, refresh_seconds: float = 5.0) -> None:
        self._store = store
        self._master_hash = hash_key(master_key) if master_key else None
        self._refresh_seconds = refresh_seconds
        self._by_hash: dict[str, ApiKey] = {}
        self._any_keys = False
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._task: asyncio.Task[None] | None = None

    @property
    def auth_required(self) -> bool:
        return self._master_hash is not None or self._any_keys

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._refresh_forever(), name="gateway-key-refresh")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def refresh(self) -> bool:
        """Reload every key; on a database error keep what is known and return ``False``."""
        try:
            keys = await asyncio.to_thread(self._store.all)
        except Exception as exc:  # a database outage must not stop authentication
            log.warning("could not refresh API keys (%s); using the %d known", type(exc).__name__, len(self._by_hash))
            return False
        self._by_hash = {k.key_hash: k for k in keys}
        self._any_keys = bool(keys)
        return True

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_seconds)
            await self.refresh()

    async def authenticate(self, presented: str | None) -> Principal:
        """The principal for a presented key; raises 401 for a wrong or missing key."""
        if not self.auth_required:
            return ANONYMOUS
        if presented is None:
            raise AuthenticationError("Missing API key. Send 'Authorization: Bearer <key>'.", code="missing_api_key")
        digest = hash_key(presented)
        if self._master_hash is not None and hmac.compare_digest(digest, self._master_hash):
            return Principal(admin=True)
        key = self._by_hash.get(digest) or await self._lookup(digest)
        if key is None or not hmac.compare_digest(key.key_hash, digest):
            raise AuthenticationError("Incorrect API key provided.", code="invalid_api_key")
        if not key.usable(dt.datetime.now(dt.UTC)):
            state = "revoked" if key.revoked_at else "expired"
            raise AuthenticationError(f"This API key has been {state}.", code=f"{state}_api_key")
        return Principal(admin=False, key=key)

    async def _lookup(self, digest: str) -> ApiKey | None:
        seen = self._unknown.get(digest)
        if seen is not None and time.monotonic() - seen < _UNKNOWN_TTL:
            return None
        try:
            key = await asyncio.to_thread(self._store.find, digest)
        except Exception as exc:
            raise ServiceUnavailableError("The key store is unreachable; cannot verify this API key right now.",
                                          code="key_store_unavailable") from exc
        if key is None:
            self._unknown[digest] = time.monotonic()
            while len(self._unknown) > _UNKNOWN_MAX:
                self._unknown.popitem(last=False)
        else:
            self._by_hash[digest] = key
            self._any_keys = True
        return key


def require_admin(principal: Principal) -> None:
    if not principal.admin:
        raise PermissionDeniedError("This endpoint needs the master key (GATEWAY_MASTER_KEY).",
                                    code="master_key_required")
