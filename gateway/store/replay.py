"""Replaying the spool into the database (for ``RecordWriter``): oldest file first, each
file claimed, committed, then deleted; a file whose commit failed is kept for the next pass."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from gateway.store.inserts import InsertOutcome
from gateway.store.models import RECORDS
from gateway.store.spool import Claimed, Rows, Spool

log = logging.getLogger("gateway.store.writer")

Item = tuple[object, Rows]
"""A record's id (for logs and the journal) and its rows."""

Commit = Callable[[list[Item]], Awaitable[tuple[list[Item], InsertOutcome]]]
"""Commits items in one transaction; returns the items left because the database failed."""


class SpoolReplay:
    """Replays ``spool`` through ``commit``, ``batch_size`` records per transaction, when
    ``dirty`` (set it whenever something was spooled). ``replayed`` counts the records now
    stored from replayed files."""

    def __init__(self, spool: Spool, commit: Commit, batch_size: int) -> None:
        self.spool = spool
        self._commit = commit
        self._batch_size = batch_size
        self.dirty = True
        self.replayed = 0

    async def run(self) -> bool:
        """One pass over the spool; True when every file was replayed. Never raises
        ``OSError`` (it is logged)."""
        if not self.dirty:
            return True
        self.dirty = False
        try:
            files = await asyncio.to_thread(self.spool.files)
        except OSError as exc:
            log.error("spool directory %s cannot be read: %s", self.spool.directory, exc)
            return True
        for path in files:
            if not await self._replay_file(path):
                self.dirty = True
                return False
        return True

    async def _replay_file(self, path: Path) -> bool:
        """Commit one spool file's rows, then delete it; False when the database failed."""
        try:
            claimed = await asyncio.to_thread(self.spool.claim, path)
        except OSError as exc:
            log.error("spool file %s cannot be read: %s", path, exc)
            return True
        if claimed is None:
            return True
        stored: int | None = None
        try:
            stored = await self._commit_all(claimed.rows)
        finally:
            removed = await asyncio.to_thread(self._release, claimed, stored is not None)
        if stored is None:
            return False
        if removed:
            self.replayed += stored
        return True

    async def _commit_all(self, rows: list[Rows]) -> int | None:
        """Commit ``rows`` in batches; how many are now stored, or ``None`` if a write failed."""
        items: list[Item] = [(_record_id(r), r) for r in rows]
        stored = 0
        for start in range(0, len(items), self._batch_size):
            left, outcome = await self._commit(items[start : start + self._batch_size])
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
