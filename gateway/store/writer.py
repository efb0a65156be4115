"""Batched, non-blocking persistence of request records.

Request handlers call ``RecordWriter.submit``; a background task writes what they
submitted in batches, in a worker thread. A failed write keeps its batch and is
retried with exponential backoff; inserts ignore rows whose key already exists, so a
batch whose commit succeeded but was reported as failed is not written twice.

While the database is down records wait in a bounded buffer. When the buffer is
full, or at shutdown with the database still down, they go to a durable local spool
(``gateway.store.spool``), which is replayed into the database at start and whenever
the database takes writes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Insert, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from gateway.store.models import ATTEMPTS, RECORDS
from gateway.store.records import RequestRecord
from gateway.store.spool import Claimed, Rows, Spool

log = logging.getLogger(__name__)

__all__ = ["InsertFn", "RecordWriter", "Rows", "WriterStats", "insert_rows", "is_data_error", "merge_rows", "rows_of"]

InsertFn = Callable[[Engine, Mapping[Table, Sequence[Mapping[str, Any]]]], None]
"""Writes one batch in one transaction; runs in a worker thread; raises on failure."""

TABLE_ORDER: tuple[Table, ...] = (RECORDS, ATTEMPTS)
_CONFLICT_KEYS: dict[str, list[str]] = {RECORDS.name: ["id"], ATTEMPTS.name: ["record_id", "attempt"]}

Item = tuple[object, Rows]
"""A record's id (for logs) and its rows."""


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters since the writer was created.

    ``written``: records committed from the buffer; ``spooled``: records moved to the
    spool (buffer full, or shutdown with the database down); ``replayed``: spooled
    records committed from the spool; ``rejected``: records the database refused as
    invalid (logged); ``dropped``: records lost because the spool could not be written
    (or, for a writer without a spool, the buffer was full or the database was down at
    shutdown), each logged as an error.
    """

    submitted: int
    written: int
    failed_flushes: int
    dropped: int
    queue_depth: int
    rejected: int = 0
    spooled: int = 0
    replayed: int = 0


def insert_rows(engine: Engine, rows: Mapping[Table, Sequence[Mapping[str, Any]]]) -> None:
    """Insert ``rows`` in one transaction: one executemany ``INSERT`` per table, in
    ``TABLE_ORDER``; rows whose key already exists are skipped."""
    with engine.begin() as connection:
        for table in TABLE_ORDER:
            batch = rows.get(table)
            if batch:
                connection.execute(_insert_ignoring_duplicates(engine.dialect.name, table), list(batch))


def _insert_ignoring_duplicates(dialect: str, table: Table) -> Insert:
    keys = _CONFLICT_KEYS[table.name]
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    return insert(table)


def rows_of(record: RequestRecord) -> Rows:
    """The rows ``record`` becomes, by table, cleaned so the database accepts them:
    strings cut to their column's length and stripped of NUL characters."""
    rows: Rows = {RECORDS: [_clean_row(RECORDS, record.as_row())]}
    attempts = record.attempt_rows()
    if attempts:
        rows[ATTEMPTS] = [_clean_row(ATTEMPTS, row) for row in attempts]
    return rows


def merge_rows(parts: Iterable[Rows]) -> Rows:
    """The rows of several records as one batch."""
    merged: Rows = {}
    for part in parts:
        for table, rows in part.items():
            merged.setdefault(table, []).extend(rows)
    return merged


def _clean_row(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    cleaned = {}
    for name, value in row.items():
        value = _strip_nul(value)
        length = getattr(table.c[name].type, "length", None)
        if isinstance(value, str) and length is not None:
            value = value[:length]
        cleaned[name] = value
    return cleaned


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strip_nul(v) for v in value]
    return value


def is_data_error(exc: BaseException) -> bool:
    """True when ``exc`` means the rows are bad (retrying cannot help), as opposed to
    the database being unreachable or misconfigured."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)


class RecordWriter:
    """A ``RecordSink`` writing records in batches from a background task.

    ``submit`` never blocks and never raises. ``start`` starts the task, which every
    ``flush_interval`` seconds (sooner once ``batch_size`` records wait) writes all
    buffered records, ``batch_size`` per transaction, via ``insert_fn`` in a worker
    thread, then replays the spool. A failed write keeps its batch and is retried after
    ``retry_initial`` seconds, doubling up to ``retry_max``. Records the database
    refuses as invalid are logged, counted as ``rejected`` and skipped; the rest of
    their batch is written.

    At most ``max_queue`` records wait (besides the batch being written). With a
    ``spool_dir``, a full buffer is moved to the spool by a background task, and a
    record arriving while it is still full is spooled at once; ``close`` writes what is
    left and spools whatever the database does not take at once. Without a spool
    (tools and tests), such records are dropped and ``close`` retries the database for
    up to ``close_timeout`` seconds first.
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
        insert_fn: InsertFn = insert_rows,
        spool_dir: Path | None = None,
    ) -> None:
        if max_queue < 1 or batch_size < 1:
            raise ValueError("max_queue and batch_size must be at least 1")
        self._engine = engine
        self._max_queue = max_queue
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._close_timeout = close_timeout
        self._insert_fn = insert_fn
        self._spool = Spool(spool_dir) if spool_dir is not None else None
        self._spool_dirty = self._spool is not None
        self._buffer: deque[RequestRecord] = deque()
        self._pending: list[Item] = []
        self._mutex = threading.Lock()
        self._counts = {"submitted": 0, "written": 0, "failed_flushes": 0, "dropped": 0, "rejected": 0,
                        "spooled": 0, "replayed": 0}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._spill_task: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()
        self._closed = False
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    @property
    def stats(self) -> WriterStats:
        """A snapshot of the counters; ``queue_depth`` counts buffered and pending records."""
        with self._mutex:
            depth = len(self._buffer) + len(self._pending)
            return WriterStats(queue_depth=depth, **self._counts)

    def submit(self, record: RequestRecord) -> None:
        """Buffer ``record`` for writing. Never raises; safe from any thread. Blocks only
        to spool a record that arrives while the buffer is full (or after ``close``)."""
        try:
            with self._mutex:
                self._counts["submitted"] += 1
                accepted = not self._closed and len(self._buffer) < self._max_queue
                if accepted:
                    self._buffer.append(record)
                depth = len(self._buffer)
            if not accepted:
                self._overflow(record)
            elif depth >= self._max_queue:
                self._on_loop(self._start_spill)
            elif depth >= self._batch_size:
                self._on_loop(self._wake.set)
        except Exception:
            log.exception("record %s could not be buffered", getattr(record, "id", "?"))

    def _overflow(self, record: RequestRecord) -> None:
        """Take a record that cannot be buffered: spool it now, in the calling thread."""
        if self._spool is None:
            self._drop(1, "the buffer is full or the writer is closed, and there is no spool")
            return
        item = self._prepare(record)
        if item is not None:
            self._spill([item])

    def _spill(self, items: Sequence[Item]) -> None:
        """Write ``items`` to the spool, ``batch_size`` per file (blocking). Without a
        spool, or when it cannot be written, they are dropped and an error is logged."""
        for start in range(0, len(items), self._batch_size):
            part = items[start : start + self._batch_size]
            if self._spool is None:
                self._drop(len(part), "the buffer is full or the database is down, and there is no spool")
                continue
            try:
                self._spool.append([rows for _, rows in part])
            except Exception as exc:
                log.error("spool directory %s is not writable (%s)", self._spool.directory, exc)
                self._drop(len(part), "the spool cannot be written")
                continue
            self._count("spooled", len(part))
            self._spool_dirty = True

    def _drop(self, count: int, reason: str) -> None:
        with self._mutex:
            before = self._counts["dropped"]
            self._counts["dropped"] += count
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
        items = [item for item in map(self._prepare, taken) if item is not None]
        await asyncio.to_thread(self._spill, items)

    async def start(self) -> None:
        """Start the background flush task on the running loop (it replays the spool
        first); idempotent."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stopping.clear()
        if self._spool is not None:
            self._wake.set()
        self._task = asyncio.create_task(self._run(), name="record-writer")

    async def flush(self) -> bool:
        """Write everything buffered now, then replay the spool. True when nothing is
        left; never raises."""
        return await self._write_all()

    async def close(self) -> None:
        """Stop the background task and write everything left; see the class docstring
        for what happens to records the database does not take."""
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

    async def _run(self) -> None:
        delay = 0.0
        while not self._stopping.is_set():
            if delay:
                await _wait(self._stopping, delay)
            else:
                await _wait(self._wake, self._flush_interval)
                self._wake.clear()
            if self._stopping.is_set():
                return
            delay = 0.0 if await self._write_all() else self._next_delay(delay)

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
            left = list(self._pending)
            records = list(self._buffer)
            self._pending.clear()
            self._buffer.clear()
        left += [item for item in map(self._prepare, records) if item is not None]
        if left:
            log.error("database unavailable at shutdown; %d records not written to it", len(left))
        return left

    async def _write_all(self) -> bool:
        """Write pending and buffered records, then replay the spool. True when nothing
        is left; False when a write failed (the failed batch stays pending)."""
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
        """Fill ``_pending`` from the buffer unless a batch is already pending; True
        when there is something to write."""
        with self._mutex:
            if self._pending:
                return True
            count = min(self._batch_size, len(self._buffer))
            taken = [self._buffer.popleft() for _ in range(count)]
        prepared = [item for item in map(self._prepare, taken) if item is not None]
        with self._mutex:
            self._pending = prepared
            return bool(prepared) or bool(self._buffer)

    def _prepare(self, record: RequestRecord) -> Item | None:
        try:
            return record.id, rows_of(record)
        except Exception:
            log.exception("record %s cannot be turned into rows; rejected", getattr(record, "id", "?"))
            self._count("rejected")
            return None

    async def _write_pending(self) -> bool:
        """Write ``_pending``; True when it is empty afterwards."""
        left, written = await self._commit(list(self._pending))
        with self._mutex:
            self._counts["written"] += written
            self._pending = left
        return not left

    async def _commit(self, items: list[Item]) -> tuple[list[Item], int]:
        """Insert ``items`` in one transaction; on a data error, one by one, rejecting the
        records the database refuses. Returns the items left unwritten because the
        database failed (none on success) and how many were written."""
        if not items:
            return [], 0
        try:
            await asyncio.to_thread(self._insert_fn, self._engine, merge_rows(rows for _, rows in items))
        except Exception as exc:
            if not is_data_error(exc):
                self._failed(exc, len(items))
                return items, 0
            if len(items) > 1:
                return await self._commit_one_by_one(items)
            self._reject(items[0][0], exc)
            return [], 0
        return [], len(items)

    async def _commit_one_by_one(self, items: list[Item]) -> tuple[list[Item], int]:
        written = 0
        for index, (record_id, rows) in enumerate(items):
            try:
                await asyncio.to_thread(self._insert_fn, self._engine, rows)
            except Exception as exc:
                if not is_data_error(exc):
                    self._failed(exc, len(items) - index)
                    return items[index:], written
                self._reject(record_id, exc)
                continue
            written += 1
        return [], written

    async def _replay_locked(self) -> bool:
        """Replay the spool, oldest file first; True when every file was replayed."""
        spool = self._spool
        if spool is None or not self._spool_dirty:
            return True
        self._spool_dirty = False
        try:
            files = await asyncio.to_thread(spool.files)
        except OSError as exc:
            log.error("spool directory %s cannot be read: %s", spool.directory, exc)
            return True
        for path in files:
            if not await self._replay_file(spool, path):
                self._spool_dirty = True
                return False
        return True

    async def _replay_file(self, spool: Spool, path: Path) -> bool:
        """Commit one spool file's rows, then delete it; False when the database failed."""
        try:
            claimed = await asyncio.to_thread(spool.claim, path)
        except OSError as exc:
            log.error("spool file %s cannot be read: %s", path, exc)
            return True
        if claimed is None:
            return True
        written: int | None = None
        try:
            written = await self._commit_all(claimed.rows)
        finally:
            removed = await asyncio.to_thread(self._release, spool, claimed, written is not None)
        if written is None:
            return False
        if removed:
            self._count("replayed", written)
        return True

    async def _commit_all(self, rows: list[Rows]) -> int | None:
        """Commit ``rows`` in batches; how many were written, or ``None`` if a write failed."""
        items: list[Item] = [(_record_id(r), r) for r in rows]
        written = 0
        for start in range(0, len(items), self._batch_size):
            left, count = await self._commit(items[start : start + self._batch_size])
            written += count
            if left:
                return None
        return written

    @staticmethod
    def _release(spool: Spool, claimed: Claimed, done: bool) -> bool:
        try:
            spool.release(claimed, done=done)
        except OSError as exc:
            log.error("spool file %s could not be removed after replay (it will be replayed again): %s",
                      claimed.path, exc)
            return False
        return done

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


def _record_id(rows: Rows) -> object:
    records = rows.get(RECORDS)
    return records[0].get("id", "?") if records else "?"


async def _wait(event: asyncio.Event, timeout: float) -> None:
    """Wait until ``event`` is set or ``timeout`` seconds pass."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
