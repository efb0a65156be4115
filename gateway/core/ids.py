"""Snowflake ids (41-bit ms timestamp, 10-bit machine, 12-bit sequence), as the seed uses.

Ids grow with time, so ordering by id is ordering by creation. Which 10 machine bits a
process uses, in order of precedence: ``GATEWAY_NODE_ID`` when set (the node in the top
4 bits, the pid in the low 6); otherwise a lease on a machine id in the database
(``gateway.store.leases``); until a lease is held (or when the database cannot be
reached), random bits. Two processes can still meet on the same id (an expired lease, an
operator's node ids); the record writer tells such a collision apart from a replay and
writes the second record under a new id (``Snowflake.at``).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
import time

_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
_MAX_MS = (1 << 41) - 1
MACHINE_IDS = 1 << 10
_SEQUENCE_MASK = 0xFFF

_shared: dict[int, Snowflake] = {}
_shared_lock = threading.Lock()


def _ms(when: dt.datetime) -> int:
    return min(max(0, int(when.timestamp() * 1000) - _EPOCH_MS), _MAX_MS)


class Snowflake:
    """A thread-safe id generator. ``machine`` (10 bits) defaults to random bits; ``floor_ms``
    (milliseconds since the epoch above) is a time no id of this generator will be earlier
    than, so a machine id handed over from another holder does not go back in time."""

    def __init__(self, machine: int | None = None, *, floor_ms: int = 0) -> None:
        self._machine = (machine if machine is not None else secrets.randbelow(MACHINE_IDS)) & 0x3FF
        self._lock = threading.Lock()
        self._last_ms = floor_ms
        self._sequence = _SEQUENCE_MASK if floor_ms else 0

    @classmethod
    def for_process(cls, node_id: int | None = None) -> Snowflake:
        """With a node id (0-15): a generator with the node in the top 4 machine bits and the
        pid in the low 6 (replicas with distinct node ids never collide). Without: this
        process's one shared generator (random bits until ``rebind`` gives it a leased id)."""
        if node_id is not None:
            return cls(((node_id & 0xF) << 6) | (os.getpid() & 0x3F))
        with _shared_lock:
            pid = os.getpid()
            if pid not in _shared:
                _shared.clear()
                _shared[pid] = cls()
            return _shared[pid]

    @property
    def machine(self) -> int:
        return self._machine

    @property
    def last_ms(self) -> int:
        """The timestamp part of the newest id minted (or the floor)."""
        return self._last_ms

    def rebind(self, machine: int, floor_ms: int = 0) -> None:
        """Mint with ``machine`` from now on, never earlier than ``floor_ms``; ids stay increasing."""
        with self._lock:
            self._machine = machine & 0x3FF
            if floor_ms > self._last_ms:
                self._last_ms, self._sequence = floor_ms, _SEQUENCE_MASK

    def next_id(self) -> int:
        with self._lock:
            now = int(time.time() * 1000) - _EPOCH_MS
            if now <= self._last_ms:
                now = self._last_ms
                self._sequence = (self._sequence + 1) & _SEQUENCE_MASK
                if self._sequence == 0:
                    now += 1
            else:
                self._sequence = 0
            self._last_ms = now
            return (now << 22) | (self._machine << 12) | self._sequence

    def at(self, when: dt.datetime) -> int:
        """An id for a record created at ``when`` (aware): its time, this generator's machine
        bits and a random sequence. Not guaranteed unique: for re-keying a record whose id was
        taken, where the insert tells whether the new id is free."""
        return (_ms(when) << 22) | (self._machine << 12) | secrets.randbelow(_SEQUENCE_MASK + 1)


def id_floor(when: dt.datetime) -> int:
    """The smallest snowflake id that can be minted at ``when`` (aware datetime); clamped to the
    41-bit timestamp range, so any date gives a valid 64-bit id."""
    return _ms(when) << 22


def new_request_id() -> str:
    """An opaque id for ``x-request-id`` when the client sent none."""
    return "req_" + secrets.token_hex(12)
