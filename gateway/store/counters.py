"""The record writer's counters, shared by its parts (buffer, committer, spiller) and
updated from any thread, and the snapshot of them it reports (``WriterStats``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

NAMES = ("submitted", "written", "failed_flushes", "dropped", "rejected", "spooled", "replayed", "duplicates",
         "id_conflicts", "recovered")


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters since the writer was created.

    ``written``: records committed from the buffer; ``spooled``: records moved to the
    spool (buffer full, or shutdown with the database down); ``replayed``: spooled
    records committed from the spool; ``rejected``: records the database refused as
    invalid (logged); ``dropped``: records that could not be kept in memory or the spool,
    each logged as an error (with a journal they stay in it, for the next start);
    ``duplicates``: records found already in the database (a retried or replayed write;
    also in ``written``/``replayed``); ``id_conflicts``: records whose id a different
    record had taken, written under a new id (also in ``written``/``replayed``);
    ``recovered``: records taken from the journals of processes that are gone (into the
    spool, so also in ``replayed`` once written). ``queue_depth``: records in the buffer
    or in the batch being written (not those on their way to the spool).
    """

    submitted: int
    written: int
    failed_flushes: int
    dropped: int
    queue_depth: int
    rejected: int = 0
    spooled: int = 0
    replayed: int = 0
    duplicates: int = 0
    id_conflicts: int = 0
    recovered: int = 0


class Counters:
    """Named counters (``NAMES``) behind one lock, held only to add or copy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(NAMES, 0)

    def add(self, name: str, amount: int = 1) -> int:
        """Add ``amount`` to ``name``; returns the value before."""
        with self._lock:
            before = self._counts[name]
            self._counts[name] = before + amount
            return before

    def __getitem__(self, name: str) -> int:
        return self._counts[name]

    def stats(self, queue_depth: int) -> WriterStats:
        with self._lock:
            return WriterStats(queue_depth=queue_depth, **self._counts)
