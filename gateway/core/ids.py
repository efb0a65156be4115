"""Snowflake ids (41-bit ms timestamp, 10-bit machine, 12-bit sequence), as the seed uses.

Ids grow with time, so ordering by id is ordering by creation.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
import time

_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
_MAX_MS = (1 << 41) - 1


class Snowflake:
    """Ids of one process. The 10 machine bits default to the process id, so the workers of one
    server (which run at the same time and so have distinct pids) never mint the same id; replicas
    writing to one database set distinct ``machine`` numbers (``GATEWAY_NODE_ID``)."""

    def __init__(self, machine: int | None = None) -> None:
        self._machine = (machine if machine is not None else os.getpid()) & 0x3FF
        self._lock = threading.Lock()
        self._last_ms = 0
        self._sequence = 0

    @classmethod
    def for_process(cls, node_id: int | None = None) -> Snowflake:
        """Machine bits: the pid (10 bits), or with a node id (0-15) the node in the top 4 bits and
        the pid in the low 6, so replicas with distinct node ids never collide."""
        if node_id is None:
            return cls()
        return cls(((node_id & 0xF) << 6) | (os.getpid() & 0x3F))

    def next_id(self) -> int:
        with self._lock:
            now = int(time.time() * 1000) - _EPOCH_MS
            if now <= self._last_ms:
                now = self._last_ms
                self._sequence = (self._sequence + 1) & 0xFFF
                if self._sequence == 0:
                    now += 1
            else:
                self._sequence = 0
            self._last_ms = now
            return (now << 22) | (self._machine << 12) | self._sequence


def id_floor(when: dt.datetime) -> int:
    """The smallest snowflake id that can be minted at ``when`` (aware datetime); clamped to the
    41-bit timestamp range, so any date gives a valid 64-bit id."""
    return min(max(0, int(when.timestamp() * 1000) - _EPOCH_MS), _MAX_MS) << 22


def new_request_id() -> str:
    """An opaque id for ``x-request-id`` when the client sent none."""
    return "req_" + secrets.token_hex(12)
