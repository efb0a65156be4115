"""Who is calling: the master key, a gateway key, or nobody (unauthenticated mode).

``KeyRing`` keeps every key's hash in memory, refreshed in the background, so
authenticating never waits on the database, and a database outage is never a
401: a key seen before keeps working from memory; an unknown key is looked up
once (and remembered as unknown for a few seconds), and if the database cannot
answer the client gets 503, not 401.

Authentication is on when a master key is configured or an *active* gateway key
exists (neither revoked nor expired); ``AuthMode`` is that decision and the one
line that explains it. Revoked and expired keys are still recognised while
authentication is on, so presenting one is a 401 that says so.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
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


def count_active(keys: Iterable[ApiKey], now: dt.datetime | None = None) -> int:
    """How many of ``keys`` are usable at ``now`` (default: this instant)."""
    now = now or dt.datetime.now(dt.UTC)
    return sum(1 for key in keys if key.usable(now))


def _plural(count: int) -> str:
    return f"{count} active gateway key{'' if count == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class AuthMode:
    """Whether authentication is on, and why: a master key, active gateway keys, or neither."""

    master_key: bool
    active_keys: int

    @property
    def required(self) -> bool:
        return self.master_key or self.active_keys > 0

    def describe(self) -> str:
        """One line, ``auth: ...``; the unauthenticated line is completed by the caller (where it serves)."""
        if self.master_key:
            keys = _plural(self.active_keys) if self.active_keys else "no active gateway keys"
            return f"auth: on — master key + {keys}"
        if self.active_keys:
            return (f"auth: on — {_plural(self.active_keys)} and no master key (admin routes and the dashboard "
                    "are unreachable: set GATEWAY_MASTER_KEY, or revoke the keys with `gateway keys revoke` "
                    "and restart)")
        return "auth: OFF — no master key and no active gateway keys"

    def announce(self, unauthenticated: str) -> None:
        """Log ``describe()``, completed by ``unauthenticated`` when authentication is off:
        INFO with a master key, WARNING otherwise."""
        if self.master_key:
            log.info("%s", self.describe())
        elif self.active_keys:
            log.warning("%s", self.describe())
        else:
            log.warning("%s; %s", self.describe(), unauthenticated)


class KeyRing:
    """Authenticates presented keys against the master key and the keys in memory.

    ``auth_required`` is decided at each refresh: on with a master key or once an
    active key has been loaded. It never turns off while the process runs (revoking
    or outliving the last key leaves it on until a restart, where ``gateway serve``
    checks again that an unauthenticated gateway listens on loopback only). Until
    the first successful load, without a master key, every request is a 503: the
    ring cannot tell whether authentication is on.
    """

    def __init__(self, store: KeyStore, master_key: str | None, refresh_seconds: float = 5.0) -> None:
        self._store = store
        self._master_hash = hash_key(master_key) if master_key else None
        self._refresh_seconds = refresh_seconds
        self._by_hash: dict[str, ApiKey] = {}
        self._loaded: AuthMode | None = None
        self._had_active = False
        self._announced: str | None = None
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._task: asyncio.Task[None] | None = None

    @property
    def auth_required(self) -> bool:
        return self._master_hash is not None or self._had_active

    @property
    def mode(self) -> AuthMode:
        """The mode as of now, counting the keys known in memory."""
        return AuthMode(self._master_hash is not None, count_active(self._by_hash.values()))

    def announce(self, unauthenticated: str) -> None:
        """Log the mode line (see ``AuthMode.announce``), or that it is unknown yet; in that
        case the line follows once the key store answers."""
        self._announced = unauthenticated
        if self._master_hash is None and self._loaded is None:
            log.warning("auth: unknown — the key store did not answer and there is no master key; every request "
                        "is a 503 until it does")
            return
        self.mode.announce(unauthenticated)

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
        before, self._loaded = self._loaded, self.mode
        self._had_active = self._had_active or self._loaded.active_keys > 0
        self._log_change(before, self._loaded)
        return True

    def _log_change(self, before: AuthMode | None, after: AuthMode) -> None:
        if before is None:
            if self._announced is not None and self._master_hash is None:
                after.announce(self._announced)
        elif before.required and not after.required:
            log.warning("auth: on until restart — every gateway key is now revoked or expired and there is no "
                        "master key; set GATEWAY_MASTER_KEY, or restart to serve without authentication")
        elif after.required and not before.required:
            log.warning("%s", after.describe())

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_seconds)
            await self.refresh()

    async def authenticate(self, presented: str | None) -> Principal:
        """The principal for a presented key; raises 401 for a wrong or missing key,
        503 while the key store has never answered (and no master key is set)."""
        if not self.auth_required:
            if self._loaded is None:
                raise ServiceUnavailableError("The key store is unreachable; cannot tell whether this gateway "
                                              "requires an API key.", code="key_store_unavailable")
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
        return key


def require_admin(principal: Principal) -> None:
    if not principal.admin:
        raise PermissionDeniedError("This endpoint needs the master key (GATEWAY_MASTER_KEY).",
                                    code="master_key_required")
