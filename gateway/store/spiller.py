"""The record writer's spiller: moves records to the durable spool (``gateway.store.spool``)
and replays the spool into the database, both off the event loop.

The loop only hands over references (``hand_over``: O(1)); a thread of the spiller's own
writes them as submitted (in the journal's encoding when there is one; they are cleaned
at replay), ``batch_size`` per spool file, then they leave the journal. When it falls
``backlog_limit`` records behind, ``hand_over`` refuses and the caller spills in its own
thread (``spill``), which bounds memory when the disk cannot keep up. The replay
(``gateway.store.replay``) runs in a worker thread, a pass at a time, when something was
spooled or recovered since the last complete pass.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Collection, Iterable

from gateway.store.buffer import Item, RecordBuffer
from gateway.store.committer import Settle
from gateway.store.counters import Counters
from gateway.store.journal import Journal
from gateway.store.recovery import recover_into
from gateway.store.replay import Commit, SpoolReplay
from gateway.store.spool import Spool, encode

log = logging.getLogger("gateway.store.writer")

CHUNK = 16
"""Records the spill thread encodes or settles between two pauses."""
PAUSE = 0.0001
"""Seconds the spill thread sleeps after each chunk, so that a thread waiting for the GIL
(the event loop's) gets it at once instead of after the interpreter's switch interval."""


class Spiller:
    """Spills to and replays ``spool``; without one (tools and tests) spilled records are
    dropped, each logged as an error. ``journaled`` tells the log where dropped records stay."""

    def __init__(self, spool: Spool | None, counters: Counters, *, batch_size: int, backlog_limit: int,
                 settle: Settle, commit: Commit) -> None:
        self.spool = spool
        self.journaled = False
        self._counters = counters
        self._batch_size = batch_size
        self._backlog_limit = backlog_limit
        self._settle = settle
        self._replay = SpoolReplay(spool, commit, batch_size, self._reject) if spool is not None else None
        self._cond = threading.Condition(threading.Lock())
        self._inbox: deque[Collection[Item]] = deque()
        self._backlog = 0
        self._accepting = False
        self._thread: threading.Thread | None = None

    @property
    def accepting(self) -> bool:
        """True while the spill thread runs (between ``start`` and ``stop``)."""
        return self._accepting

    def start(self) -> None:
        """Start the spill thread (none without a spool)."""
        if self.spool is None or self._thread is not None:
            return
        self._accepting = True
        self._thread = threading.Thread(target=self._spill_forever, name="record-spill", daemon=True)
        self._thread.start()

    def hand_over(self, item: Item, buffer: RecordBuffer) -> bool:
        """Queue ``item`` and everything in ``buffer`` (emptying it; references only) for the
        spill thread; False (nothing taken) when it is not running or is ``backlog_limit``
        records behind. Never waits on a file."""
        with self._cond:
            if not self._accepting or self._backlog >= self._backlog_limit:
                return False
            full = buffer.take_all()
            self._inbox.extend((full, (item,)))
            self._backlog += len(full) + 1
            self._cond.notify()
        return True

    def drain(self) -> None:
        """Block until everything handed over is spooled (or dropped)."""
        with self._cond:
            self._cond.wait_for(lambda: self._backlog == 0)

    def stop(self) -> None:
        """Spill what was handed over, then end the thread (blocking)."""
        with self._cond:
            self._accepting = False
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def spill(self, items: Iterable[Item]) -> None:
        """Write ``items`` to the spool, ``batch_size`` per file (blocking, in the calling
        thread); they leave the journal once there. Without a spool, or when it cannot be
        written, they are dropped and an error is logged."""
        items = list(items)
        for start in range(0, len(items), self._batch_size):
            part = items[start : start + self._batch_size]
            if self.spool is None:
                self.drop(len(part), "the buffer is full or the database is down, and there is no spool")
                continue
            try:
                self.spool.append_lines(_encode(part))
            except Exception as exc:
                log.error("spool directory %s is not writable (%s)", self.spool.directory, exc)
                self.drop(len(part), "the spool cannot be written")
                continue
            self._counters.add("spooled", len(part))
            for offset in range(0, len(part), CHUNK):
                self._settle(part[offset : offset + CHUNK])
                _pause()
            self.mark_dirty()

    def drop(self, count: int, reason: str) -> None:
        """Count ``count`` records as dropped; logged as an error every thousand."""
        before = self._counters.add("dropped", count)
        if self.journaled:
            reason += " (they stay in the journal, for the next start)"
        if before // 1000 != (before + count) // 1000 or before == 0:
            log.error("%d records dropped (%d so far): %s", count, before + count, reason)

    def mark_dirty(self) -> None:
        """Something was spooled: the next pass replays."""
        if self._replay is not None:
            self._replay.dirty = True

    async def replay(self) -> bool:
        """Replay the spool in a worker thread, oldest file first; True when every file was replayed."""
        if self._replay is None:
            return True
        return await asyncio.to_thread(self._replay_pass, self._replay)

    def recover(self, journal: Journal) -> None:
        """Move the journals of processes that are gone into the spool (blocking)."""
        assert self.spool is not None
        try:
            recovered = recover_into(self.spool, journal.directory, journal.token, self._batch_size)
        except OSError as exc:
            log.error("journal directory %s cannot be read for recovery: %s", journal.directory, exc)
            return
        self._counters.add("recovered", recovered)
        if recovered:
            self.mark_dirty()

    def has_files(self) -> bool:
        """True when the spool holds files (blocking)."""
        try:
            return self.spool is not None and bool(self.spool.files())
        except OSError:
            return False

    def _reject(self, item: Item) -> None:
        self._counters.add("rejected")

    def _replay_pass(self, replay: SpoolReplay) -> bool:
        before = replay.replayed
        try:
            return replay.run()
        finally:
            self._counters.add("replayed", replay.replayed - before)

    def _spill_forever(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._inbox) or not self._accepting)
                if not self._inbox:
                    return
                part = self._inbox.popleft()
            try:
                self.spill(part)
            except Exception:
                log.exception("%d records could not be spilled", len(part))
                self.drop(len(part), "spilling them failed")
            finally:
                with self._cond:
                    self._backlog -= len(part)
                    self._cond.notify_all()



def _encode(items: list[Item]) -> list[bytes]:
    """The spool lines of ``items``: the journal's encoding when there is one, else encoded
    here, ``CHUNK`` records at a time with a pause in between."""
    lines: list[bytes] = []
    for offset in range(0, len(items), CHUNK):
        chunk = items[offset : offset + CHUNK]
        lines.extend(item.line or encode(item.rows) for item in chunk)
        if any(item.line is None for item in chunk):
            _pause()
    return lines


def _pause() -> None:
    """Let go of the GIL for long enough that a waiting thread takes it."""
    time.sleep(PAUSE)
