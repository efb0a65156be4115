"""Leases on the 1024 snowflake machine ids, in ``machine_leases``, so that every process
writing to one database (workers, replicas, restarts; each one possibly PID 1 in its own
container) mints ids with machine bits no other live process uses, with no setting.

At start a process takes the lowest id that is free or whose lease expired (an insert, or
an update conditional on the lease still being expired: atomic on PostgreSQL and SQLite),
and starts its generator after the last id time the previous holder reported. The lease
is renewed every quarter of its ``ttl`` and released (expired at once, the row kept) at
shutdown. A renewal that finds the lease taken claims a new id. While the database cannot
be reached the generator keeps random machine bits (a collision is then re-keyed by the
writer, see ``gateway.store.inserts``). ``GATEWAY_NODE_ID``, when set, replaces all this.
Lease times are the processes' clocks: they may differ by less than ``ttl * 3/4``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import socket
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.core.ids import MACHINE_IDS, Snowflake
from gateway.store.models import MACHINE_LEASES

log = logging.getLogger("gateway.store.leases")

_CLAIM_ROUNDS = 5


class LeaseUnavailable(RuntimeError):
    """Every machine id is held by a live lease."""


@dataclass(frozen=True, slots=True)
class _Seen:
    holder: str
    expires_at: dt.datetime
    last_ms: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_holder() -> str:
    """A token no other process has: host name and random bits (pids repeat across containers)."""
    return f"{socket.gethostname()[:40]}-{secrets.token_hex(8)}"


class MachineLease:
    """Holds a machine id for ``ids`` while the process runs (``start`` .. ``close``)."""

    def __init__(self, engine: Engine, ids: Snowflake, *, ttl: float = 60.0, holder: str | None = None) -> None:
        self._engine = engine
        self._ids = ids
        self._ttl = ttl
        self.holder = holder or default_holder()
        self.machine: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def start(self) -> None:
        """Claim an id (or keep random bits while the database cannot be reached) and start
        renewing in the background."""
        await asyncio.to_thread(self._keep)
        if self.machine is None:
            log.warning("machine id: random bits %d until a lease can be claimed", self._ids.machine)
        self._task = asyncio.create_task(self._renew_forever(), name="machine-lease")

    async def close(self) -> None:
        """Stop renewing and release the lease; never raises."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            await asyncio.to_thread(self.release)
        except Exception as exc:
            log.warning("machine id %s could not be released (it expires by itself): %s", self.machine, exc)

    def claim(self) -> int:
        """Take the lowest free or expired machine id and bind ``ids`` to it (blocking).
        Raises ``LeaseUnavailable``, or what the database raises."""
        for _ in range(_CLAIM_ROUNDS):
            now = _now()
            leases = self._leases()
            candidate = next((n for n in range(MACHINE_IDS) if n not in leases or leases[n].expires_at <= now), None)
            if candidate is None:
                raise LeaseUnavailable(f"all {MACHINE_IDS} machine ids are leased")
            seen = leases.get(candidate)
            if self._take(candidate, seen, now):
                self._ids.rebind(candidate, floor_ms=seen.last_ms if seen else 0)
                self.machine = candidate
                log.info("machine id %d leased (holder %s)", candidate, self.holder)
                return candidate
        raise LeaseUnavailable("machine ids are being claimed too fast; try again")

    def renew(self) -> bool:
        """Extend the lease; False when it was lost (another process took it after it expired)."""
        return self._update(_now() + dt.timedelta(seconds=self._ttl))

    def release(self) -> None:
        """Expire the lease now (the row stays, keeping the last id time for the next holder)."""
        if self.machine is not None:
            self._update(_now())
            self.machine = None

    def _leases(self) -> dict[int, _Seen]:
        table = MACHINE_LEASES.c
        with self._engine.connect() as connection:
            rows = connection.execute(select(table.id, table.holder, table.expires_at, table.last_ms))
            return {row.id: _Seen(row.holder, row.expires_at, row.last_ms) for row in rows}

    def _take(self, candidate: int, seen: _Seen | None, now: dt.datetime) -> bool:
        expires = now + dt.timedelta(seconds=self._ttl)
        table = MACHINE_LEASES.c
        if seen is None:
            try:
                with self._engine.begin() as connection:
                    connection.execute(insert(MACHINE_LEASES).values(
                        id=candidate, holder=self.holder, expires_at=expires, last_ms=0))
            except IntegrityError:
                return False
            return True
        with self._engine.begin() as connection:
            result = connection.execute(
                update(MACHINE_LEASES)
                .where(table.id == candidate, table.holder == seen.holder, table.expires_at <= now)
                .values(holder=self.holder, expires_at=expires))
            return result.rowcount == 1

    def _update(self, expires: dt.datetime) -> bool:
        if self.machine is None:
            return False
        table = MACHINE_LEASES.c
        with self._engine.begin() as connection:
            result = connection.execute(
                update(MACHINE_LEASES).where(table.id == self.machine, table.holder == self.holder)
                .values(expires_at=expires, last_ms=self._ids.last_ms))
            return result.rowcount == 1

    def _keep(self) -> None:
        """Renew the lease, or claim one when none is held or it was lost; logs, never raises."""
        try:
            if self.machine is not None and not self.renew():
                log.warning("machine id %d: the lease was lost (expired and taken); claiming another", self.machine)
                self.machine = None
            if self.machine is None:
                self.claim()
        except Exception as exc:
            if not self._failing:
                log.warning("machine id lease: %s: %s", type(exc).__name__, exc)
            self._failing = True
            return
        self._failing = False

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 4)
            await asyncio.to_thread(self._keep)
