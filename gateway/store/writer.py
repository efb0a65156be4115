"""Batched, non-blocking persistence of request records.

Request handlers call ``RecordWriter.submit``. With a journal (``gateway.store.journal``)
the record is first appended to it, in the calling thread, so from then on it survives a
crash of the process; streams in flight are journaled too (``checkpoint``). A background
task writes what was submitted in batches, in a worker thread, through
``gateway.store.inserts``, which recognises a record already in the database and re-keys a
different record whose id is taken. A failed write keeps its batch and is retried with
exponential backoff.

While the database is down records wait in a bounded buffer. When the buffer is full, or
at shutdown with the database still down, they go to a durable local spool
(``gateway.store.spool``), which is replayed into the database at start and whenever the
database takes writes again. A record leaves the journal once it is committed or
spooled; at start, the journals of processes that are gone are recovered into the spool
(``gateway.store.recovery``) and replayed before the writer's ``start`` returns (up to
``start_timeout`` seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from gateway.store.inserts import (
    InsertOutcome,
    Remint,
    clean_rows,
    insert_rows,
    is_data_error,
    merge_rows,
    raw_rows,
    rows_of,
)
from gateway.store.journal import Journal
from gateway.store.records import RequestRecord
from gateway.store.recovery import recover_into
from gateway.store.replay import Item, SpoolReplay
from gateway.store.spool import Rows, Spool

log = logging.getLogger(__name__)

__all__ = ["InsertFn", "InsertOutcome", "RecordWriter", "Rows", "WriterStats", "insert_rows", "is_data_error",
           "merge_rows", "rows_of"]

InsertFn = Callable[[Engine, Sequence[Rows]], InsertOutcome]
"""Writes one batch (one record's rows per item) in one transaction; runs in a worker
thread; raises on failure."""

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
    spool, so also in ``replayed`` once written).
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


class RecordWriter:
    """A ``RecordSink`` writing records in batches from a background task.

    ``submit`` never raises and, with a journal, journals the record before returning.
    ``start`` starts the task, which every ``flush_interval`` seconds (sooner once
    ``batch_size`` records wait) writes all buffered records, ``batch_size`` per
    transaction, via ``insert_fn`` in a worker thread, then replays the spool. A failed
    write keeps its batch and is retried after ``retry_initial`` seconds, doubling up to
    ``retry_max``. Records the database refuses as invalid are logged, counted as
    ``rejected`` and skipped; the rest of their batch is written.

    At most ``max_queue`` records wait (besides the batch being written). With a
    ``spool_dir``, a full buffer is moved to the spool by a background task, and a
    record arriving while it is still full is spooled at once; ``close`` writes what is
    left and spools whatever the database does not take at once. Without a spool
    (tools and tests), such records are dropped and ``close`` retries the database for
    up to ``close_timeout`` seconds first. A ``journal`` needs a spool.
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
        self._engine = engine
        self._max_queue = max_queue
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._close_timeout = close_timeout
        self._start_timeout = start_timeout
        self._insert_fn = insert_fn or functools.partial(insert_rows, remint=remint)
        self._on_id_conflicts = on_id_conflicts
        self._spool = Spool(spool_dir) if spool_dir is not None else None
        self._replay = SpoolReplay(self._spool, self._commit, batch_size) if self._spool is not None else None
        self._journal = journal
        self._buffer: deque[Item] = deque()
        self._pending: list[Item] = []
        self._mutex = threading.Lock()
        self._counts = {"submitted": 0, "written": 0, "failed_flushes": 0, "dropped": 0, "rejected": 0,
                        "spooled": 0, "replayed": 0, "duplicates": 0, "id_conflicts": 0, "recovered": 0}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._spill_task: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()
        self._closed = False
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._first_pass = asyncio.Event()

    @property
    def stats(self) -> WriterStats:
        """A snapshot of the counters; ``queue_depth`` counts buffered and pending records."""
        with self._mutex:
            depth = len(self._buffer) + len(self._pending)
            return WriterStats(queue_depth=depth, **self._counts)

    def submit(self, record: RequestRecord) -> None:
        """Journal ``record`` (when there is a journal) and buffer it for writing. Never
        raises; safe from any thread. Blocks only to spool a record that arrives while the
        buffer is full (or after ``close``)."""
        try:
            with self._mutex:
                self._counts["submitted"] += 1
                room = not self._closed and len(self._buffer) < self._max_queue
            if not room and self._spool is None:
                self._drop(1, "the buffer is full or the writer is closed, and there is no spool")
                return
            item = self._prepare(record)
            if item is None:
                return
            if self._journal is not None:
                self._journal.append(*item)
            if room:
                self._buffer_item(item)
            else:
                self._spill([item])
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

    def _buffer_item(self, item: Item) -> None:
        with self._mutex:
            self._buffer.append(item)
            depth = len(self._buffer)
        if depth >= self._max_queue:
            self._on_loop(self._start_spill)
        elif depth >= self._batch_size:
            self._on_loop(self._wake.set)

    def _spill(self, items: Sequence[Item]) -> None:
        """Write ``items`` to the spool, ``batch_size`` per file (blocking). Without a
        spool, or when it cannot be written, they are dropped and an error is logged."""
        for start in range(0, len(items), self._batch_size):
            part = items[start : start + self._batch_size]
            if self._spool is None:
                self._drop(len(part), "the buffer is full or the database is down, and there is no spool")
                continue
            cleaned = self._clean(part)
            try:
                if cleaned:
                    self._spool.append([rows for _, rows in cleaned])
            except Exception as exc:
                log.error("spool directory %s is not writable (%s)", self._spool.directory, exc)
                self._drop(len(cleaned), "the spool cannot be written")
                continue
            self._count("spooled", len(cleaned))
            self._settle(cleaned)
            if self._replay is not None:
                self._replay.dirty = True

    def _settle(self, items: Iterable[Item]) -> None:
        if self._journal is not None:
            self._journal.settle(record_id for record_id, _ in items)

    def _drop(self, count: int, reason: str) -> None:
        with self._mutex:
            before = self._counts["dropped"]
            self._counts["dropped"] += count
        if self._journal is not None:
            reason += " (they stay in the journal, for the next start)"
        if before // 1000 != (before + count) // 1000 or before == 0:
            log.error("%d records dropped (%d so far): %s", count, before + count, reason)

    def _start_spill(self) -> None:
        """On the loop: start moving the full buffer to the spool, unless already under way."""
        if self._spool is None or self._stopping.is_set():
            return
        if self._spill_task is None or self._spill_task.done():
            self._spill_task = asyncio.get_running_loop().create_task(self._spill_buffer(), name="record-spill")

    async def _spill_buffer(self) -> None:
        with self._mutex:
            if len(self._buffer) < self._max_queue:
                return
            taken = list(self._buffer)
            self._buffer.clear()
        await asyncio.to_thread(self._spill, taken)

    async def start(self) -> None:
        """Open the journal and recover the journals of processes that are gone, start the
        background flush task on the running loop, and wait (up to ``start_timeout``) for
        its first pass, which replays the spool; idempotent."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stopping.clear()
        if self._journal is not None:
            await asyncio.to_thread(self._open_journal)
        if self._spool is not None:
            self._wake.set()
        self._task = asyncio.create_task(self._run(), name="record-writer")
        if self._spool is not None and await asyncio.to_thread(self._spool_has_files):
            await _wait(self._first_pass, self._start_timeout)

    def _open_journal(self) -> None:
        journal, spool = self._journal, self._spool
        assert journal is not None and spool is not None
        try:
            journal.open()
        except OSError as exc:
            log.error("journal directory %s cannot be used (%s); records are not journaled", journal.directory, exc)
            self._journal = None
            return
        try:
            recovered = recover_into(spool, journal.directory, journal.token, self._batch_size)
        except OSError as exc:
            log.error("journal directory %s cannot be read for recovery: %s", journal.directory, exc)
            return
        self._count("recovered", recovered)
        if recovered and self._replay is not None:
            self._replay.dirty = True

    def _spool_has_files(self) -> bool:
        try:
            return self._spool is not None and bool(self._spool.files())
        except OSError:
            return False

    async def flush(self) -> bool:
        """Write everything buffered now, then replay the spool. True when nothing is
        left; never raises."""
        return await self._write_all()

    async def close(self) -> None:
        """Stop the background task and write everything left; see the class docstring
        for what happens to records the database does not take. The journal is closed
        last: empty, unless records could be neither written nor spooled."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._spill_task is not None:
            await self._spill_task
        budget = self._close_timeout if self._spool is None else 0.0
        written = await self._write_buffer_before(asyncio.get_running_loop().time() + budget)
        with self._mutex:
            self._closed = True
        if written:
            written = await self._write_buffer()
        if not written:
            await asyncio.to_thread(self._spill, self._take_remaining())
        if self._journal is not None:
            kept = await asyncio.to_thread(self._journal.close)
            if kept:
                log.warning("%d records or streams in flight left in the journal %s for the next start", kept,
                            self._journal.directory)

    async def _run(self) -> None:
        delay = 0.0
        while not self._stopping.is_set():
            if delay:
                await _wait(self._stopping, delay)
            else:
                await _wait(self._wake, self._flush_interval)
                self._wake.clear()
            if self._stopping.is_set():
                break
            done = await self._write_all()
            self._first_pass.set()
            delay = 0.0 if done else self._next_delay(delay)
        self._first_pass.set()

    def _next_delay(self, delay: float) -> float:
        return min(max(delay * 2, self._retry_initial), self._retry_max)

    async def _write_buffer_before(self, deadline: float) -> bool:
        loop = asyncio.get_running_loop()
        delay = 0.0
        while not await self._write_buffer():
            delay = self._next_delay(delay)
            if loop.time() + delay > deadline:
                return False
            await asyncio.sleep(delay)
        return True

    def _take_remaining(self) -> list[Item]:
        with self._mutex:
            left = [*self._pending, *self._buffer]
            self._pending.clear()
            self._buffer.clear()
        if left:
            log.error("database unavailable at shutdown; %d records not written to it", len(left))
        return left

    async def _write_all(self) -> bool:
        async with self._write_lock:
            return await self._write_buffer_locked() and await self._replay_locked()

    async def _write_buffer(self) -> bool:
        async with self._write_lock:
            return await self._write_buffer_locked()

    async def _write_buffer_locked(self) -> bool:
        while self._take_batch():
            if not await self._write_pending():
                return False
        return True

    def _take_batch(self) -> bool:
        """Fill ``_pending`` from the buffer (cleaning the rows) unless a batch is already
        pending; True when there is something to write."""
        with self._mutex:
            if self._pending:
                return True
            count = min(self._batch_size, len(self._buffer))
            taken = [self._buffer.popleft() for _ in range(count)]
        cleaned = self._clean(taken)
        with self._mutex:
            self._pending = cleaned
            return bool(cleaned) or bool(self._buffer)

    def _prepare(self, record: RequestRecord) -> Item | None:
        """The record's rows as the journal keeps them (cleaned later, off the request path)."""
        try:
            return record.id, raw_rows(record)
        except Exception:
            log.exception("record %s cannot be turned into rows; rejected", getattr(record, "id", "?"))
            self._count("rejected")
            return None

    def _clean(self, items: Sequence[Item]) -> list[Item]:
        """``items`` with their rows cleaned for the database; one that cannot be is rejected."""
        cleaned: list[Item] = []
        for record_id, rows in items:
            try:
                cleaned.append((record_id, clean_rows(rows)))
            except Exception:
                log.exception("record %s cannot be cleaned for the database; rejected", record_id)
                self._count("rejected")
                self._settle([(record_id, rows)])
        return cleaned

    async def _write_pending(self) -> bool:
        """Write ``_pending``; True when it is empty afterwards. What is done with (written,
        found there, or rejected) leaves the journal."""
        items = list(self._pending)
        left, outcome = await self._commit(items)
        with self._mutex:
            self._counts["written"] += outcome.stored
            self._pending = left
        self._settle(items[: len(items) - len(left)])
        return not left

    async def _commit(self, items: list[Item]) -> tuple[list[Item], InsertOutcome]:
        """Insert ``items`` in one transaction; on a data error, one by one, rejecting the
        records the database refuses. Returns the items left unwritten because the
        database failed (none on success; always the tail of ``items``) and the outcome."""
        if not items:
            return [], InsertOutcome()
        try:
            outcome = await asyncio.to_thread(self._insert_fn, self._engine, [rows for _, rows in items])
        except Exception as exc:
            if not is_data_error(exc):
                self._failed(exc, len(items))
                return items, InsertOutcome()
            if len(items) > 1:
                return await self._commit_one_by_one(items)
            self._reject(items[0][0], exc)
            return [], InsertOutcome()
        self._note(outcome)
        return [], outcome

    async def _commit_one_by_one(self, items: list[Item]) -> tuple[list[Item], InsertOutcome]:
        total = InsertOutcome()
        for index, (record_id, rows) in enumerate(items):
            try:
                outcome = await asyncio.to_thread(self._insert_fn, self._engine, [rows])
            except Exception as exc:
                if not is_data_error(exc):
                    self._failed(exc, len(items) - index)
                    return items[index:], total
                self._reject(record_id, exc)
                continue
            self._note(outcome)
            total += outcome
        return [], total

    def _note(self, outcome: InsertOutcome) -> None:
        with self._mutex:
            self._counts["duplicates"] += outcome.duplicates
            self._counts["id_conflicts"] += outcome.reminted
        if outcome.reminted and self._on_id_conflicts is not None:
            self._on_id_conflicts(outcome.reminted)

    async def _replay_locked(self) -> bool:
        """Replay the spool, oldest file first; True when every file was replayed."""
        if self._replay is None:
            return True
        before = self._replay.replayed
        try:
            return await self._replay.run()
        finally:
            self._count("replayed", self._replay.replayed - before)

    def _reject(self, record_id: object, exc: Exception) -> None:
        log.error("record %s rejected by the database: %s", record_id, exc)
        self._count("rejected")

    def _failed(self, exc: Exception, count: int) -> None:
        log.warning("writing %d records failed, will retry: %s", count, exc)
        self._count("failed_flushes")

    def _count(self, name: str, amount: int = 1) -> None:
        with self._mutex:
            self._counts[name] += amount

    def _on_loop(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the writer's loop, from any thread; a no-op before
        ``start`` or after the loop closed."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            callback()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback)


async def _wait(event: asyncio.Event, timeout: float) -> None:
    """Wait until ``event`` is set or ``timeout`` seconds pass."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
