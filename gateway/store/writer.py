"""Batched, non-blocking persistence of request records: ``RecordWriter``, the facade the
app uses, over three parts.

* the buffer (``gateway.store.buffer``): what ``submit`` touches; bounded, O(1);
* the committer (``gateway.store.committer``): takes batches from the buffer and commits
  them in a worker thread, retrying with backoff;
* the spiller (``gateway.store.spiller``): moves records to a durable local spool when the
  buffer is full or at shutdown with the database down, in a thread of its own, and
  replays the spool, in a worker thread, at start and whenever the database takes writes
  again.

With a journal (``gateway.store.journal``) a record is first appended to it, in the
calling thread, so from then on it survives a crash of the process; streams in flight are
journaled too (``checkpoint``). A record leaves the journal once it is committed or
spooled; at start, the journals of processes that are gone are recovered into the spool
(``gateway.store.recovery``) and replayed before ``start`` returns (up to
``start_timeout`` seconds).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import Engine

from gateway.store.buffer import Item, RecordBuffer
from gateway.store.committer import Committer, InsertFn
from gateway.store.counters import Counters, WriterStats
from gateway.store.inserts import InsertOutcome, Remint, insert_rows, is_data_error, merge_rows, raw_rows, rows_of
from gateway.store.journal import Journal
from gateway.store.records import RequestRecord
from gateway.store.spiller import Spiller
from gateway.store.spool import Rows, Spool, encode

log = logging.getLogger(__name__)

__all__ = ["InsertFn", "InsertOutcome", "RecordWriter", "Rows", "WriterStats", "insert_rows", "is_data_error",
           "merge_rows", "rows_of"]


class RecordWriter:
    """A ``RecordSink`` writing records in batches from a background task.

    ``submit`` never raises and, with a journal, journals the record before returning.
    ``start`` starts the committer, which every ``flush_interval`` seconds (sooner once
    ``batch_size`` records wait) writes all buffered records, ``batch_size`` per
    transaction, via ``insert_fn`` in a worker thread, then replays the spool. A failed
    write keeps its batch and is retried after ``retry_initial`` seconds, doubling up to
    ``retry_max``. Records the database refuses as invalid are logged, counted as
    ``rejected`` and skipped; the rest of their batch is written.

    At most ``max_queue`` records wait (besides the batch being written). With a
    ``spool_dir``, a record arriving while the buffer is full is handed, with the whole
    buffer, to the spill thread; before ``start``, after ``close`` (no spill thread), or
    while the spill thread is still ``4 * max_queue`` records behind (the disk cannot
    keep up: the last resort that bounds memory), it is spooled in the calling thread.
    ``close`` writes what is left and spools whatever the database does not take at once.
    Without a spool (tools and tests), such records are dropped and ``close`` retries the
    database for up to ``close_timeout`` seconds first. A ``journal`` needs a spool.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_queue: int = 10_000,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
        close_timeout: float = 10.0,
        insert_fn: InsertFn | None = None,
        spool_dir: Path | None = None,
        journal: Journal | None = None,
        remint: Remint | None = None,
        on_id_conflicts: Callable[[int], None] | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        if max_queue < 1 or batch_size < 1:
            raise ValueError("max_queue and batch_size must be at least 1")
        if journal is not None and spool_dir is None:
            raise ValueError("a journal needs a spool directory")
        self._batch_size = batch_size
        self._close_timeout = close_timeout
        self._start_timeout = start_timeout
        self._journal = journal
        self._counters = Counters()
        self._buffer = RecordBuffer(max_queue)
        self._committer = Committer(
            engine, insert_fn or functools.partial(insert_rows, remint=remint), self._buffer, self._counters,
            batch_size=batch_size, flush_interval=flush_interval, retry_initial=retry_initial, retry_max=retry_max,
            settle=self._settle, then=self._replay, on_id_conflicts=on_id_conflicts)
        self._spiller = Spiller(Spool(spool_dir) if spool_dir is not None else None, self._counters,
                                batch_size=batch_size, backlog_limit=4 * max_queue, settle=self._settle,
                                commit=self._committer.commit)
        self._spiller.journaled = journal is not None

    @property
    def stats(self) -> WriterStats:
        """A snapshot of the counters; ``queue_depth`` counts buffered and pending records."""
        return self._counters.stats(len(self._buffer) + self._committer.pending)

    def submit(self, record: RequestRecord) -> None:
        """Journal ``record`` (when there is a journal) and buffer it for writing. Never
        raises; safe from any thread. Never waits on the database or the spool while the
        writer runs (see the class docstring for before ``start`` and after ``close``)."""
        try:
            self._counters.add("submitted")
            if self._spiller.spool is None and not self._buffer.has_room():
                self._spiller.drop(1, "the buffer is full or the writer is closed, and there is no spool")
                return
            item = self._prepare(record)
            if item is None:
                return
            if self._journal is not None:
                self._journal.append_encoded(item.id, item.line or encode(item.rows))
            depth = self._buffer.offer(item)
            if not depth:
                self._overflow(item)
            elif depth % self._batch_size == 0:
                self._committer.wake()
        except Exception:
            log.exception("record %s could not be buffered", getattr(record, "id", "?"))

    def checkpoint(self, record: RequestRecord) -> None:
        """Journal the state of a stream in flight: ``record`` is what it leaves if the
        process dies before its final record is submitted. Never raises."""
        journal = self._journal
        if journal is None:
            return
        try:
            journal.checkpoint(record.id, raw_rows(record))
        except Exception:
            log.exception("stream %s could not be checkpointed", getattr(record, "id", "?"))

    async def start(self) -> None:
        """Open the journal and recover the journals of processes that are gone, start the
        spill thread and the committer on the running loop, and wait (up to
        ``start_timeout``) for its first pass, which replays the spool; idempotent."""
        if self._committer.started:
            return
        if self._journal is not None:
            await asyncio.to_thread(self._open_journal)
        self._spiller.start()
        spooling = self._spiller.spool is not None
        self._committer.start(pass_now=spooling)
        if spooling and await asyncio.to_thread(self._spiller.has_files):
            await self._committer.wait_first_pass(self._start_timeout)

    async def flush(self) -> bool:
        """Write everything buffered now (after the spill thread caught up), then replay the
        spool. True when nothing is left; never raises."""
        await asyncio.to_thread(self._spiller.drain)
        return await self._committer.write_all()

    async def close(self) -> None:
        """Stop the committer and write everything left; see the class docstring for what
        happens to records the database does not take. The journal is closed last: empty,
        unless records could be neither written nor spooled."""
        await self._committer.stop()
        await asyncio.to_thread(self._spiller.drain)
        budget = self._close_timeout if self._spiller.spool is None else 0.0
        written = await self._committer.write_buffer_before(asyncio.get_running_loop().time() + budget)
        self._buffer.close()
        if written:
            written = await self._committer.write_buffer()
        if not written:
            await asyncio.to_thread(self._spiller.spill, self._take_remaining())
        await asyncio.to_thread(self._spiller.stop)
        if self._journal is not None:
            kept = await asyncio.to_thread(self._journal.close)
            if kept:
                log.warning("%d records or streams in flight left in the journal %s for the next start", kept,
                            self._journal.directory)

    def _overflow(self, item: Item) -> None:
        """``item`` found the buffer full (or closed). While the spill thread runs and keeps
        up, it takes the item and the whole buffer; otherwise the item is spooled here."""
        if not self._spiller.hand_over(item, self._buffer):
            self._spiller.spill([item])

    def _take_remaining(self) -> list[Item]:
        left = [*self._committer.take_pending(), *self._buffer.take_all()]
        if left:
            log.error("database unavailable at shutdown; %d records not written to it", len(left))
        return left

    def _open_journal(self) -> None:
        journal = self._journal
        assert journal is not None
        try:
            journal.open()
        except OSError as exc:
            log.error("journal directory %s cannot be used (%s); records are not journaled", journal.directory, exc)
            self._journal = None
            self._spiller.journaled = False
            return
        self._spiller.recover(journal)

    async def _replay(self) -> bool:
        return await self._spiller.replay()

    def _prepare(self, record: RequestRecord) -> Item | None:
        """The record's rows as the journal keeps them, encoded once for the journal and the spool
        (cleaned later, off the request path)."""
        try:
            rows = raw_rows(record)
            return Item(record.id, rows, encode(rows) if self._journal is not None else None)
        except Exception:
            log.exception("record %s cannot be turned into rows; rejected", getattr(record, "id", "?"))
            self._counters.add("rejected")
            return None

    def _settle(self, items: Iterable[Item]) -> None:
        journal = self._journal
        if journal is not None:
            journal.settle(item.id for item in items)
