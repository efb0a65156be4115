"""Replaying the spool into the database (for the record writer's spiller): oldest file
first, each file claimed, its rows cleaned (spooled rows are as submitted; a record that
cannot be cleaned is rejected) and committed, then the file deleted; a file whose commit
failed is kept for the next pass. Blocking throughout: it runs in a worker thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from gateway.store.buffer import Item, clean_items
from gateway.store.inserts import InsertOutcome
from gateway.store.models import RECORDS
from gateway.store.spool import Claimed, Rows, Spool

log = logging.getLogger("gateway.store.writer")

Commit = Callable[[list[Item]], tuple[list[Item], InsertOutcome]]
"""Commits items in one transaction (blocking); returns the items left because the database failed."""


class SpoolReplay:
    """Replays ``spool`` through ``commit``, ``batch_size`` records per transaction, when
    ``dirty`` (set it whenever something was spooled, after the file is complete).
    ``replayed`` counts the records now stored from replayed files. One pass at a time."""

    def __init__(self, spool: Spool, commit: Commit, batch_size: int, reject: Callable[[Item], None]) -> None:
        self.spool = spool
        self._commit = commit
        self._reject = reject
        self._batch_size = batch_size
        self.dirty = True
        self.replayed = 0

    def run(self) -> bool:
        """One pass over the spool; True when every file was replayed. Never raises
        ``OSError`` (it is logged)."""
        if not self.dirty:
            return True
        self.dirty = False
        try:
            files = self.spool.files()
        except OSError as exc:
            log.error("spool directory %s cannot be read: %s", self.spool.directory, exc)
            return True
        for path in files:
            if not self._replay_file(path):
                self.dirty = True
                return False
        return True

    def _replay_file(self, path: Path) -> bool:
        """Commit one spool file's rows, then delete it; False when the database failed."""
        try:
            claimed = self.spool.claim(path)
        except OSError as exc:
            log.error("spool file %s cannot be read: %s", path, exc)
            return True
        if claimed is None:
            return True
        stored: int | None = None
        try:
            stored = self._commit_all(claimed.rows)
        finally:
            removed = self._release(claimed, stored is not None)
        if stored is None:
            return False
        if removed:
            self.replayed += stored
        return True

    def _commit_all(self, rows: list[Rows]) -> int | None:
        """Clean and commit ``rows`` in batches; how many are now stored, or ``None`` if a write failed."""
        items = clean_items((Item(_record_id(r), r) for r in rows), self._reject)
        stored = 0
        for start in range(0, len(items), self._batch_size):
            left, outcome = self._commit(items[start : start + self._batch_size])
            stored += outcome.stored
            if left:
                return None
        return stored

    def _release(self, claimed: Claimed, done: bool) -> bool:
        try:
            self.spool.release(claimed, done=done)
        except OSError as exc:
            log.error("spool file %s could not be removed after replay (it will be replayed again): %s",
                      claimed.path, exc)
            return False
        return done


def _record_id(rows: Rows) -> object:
    records = rows.get(RECORDS)
    return records[0].get("id", "?") if records else "?"
