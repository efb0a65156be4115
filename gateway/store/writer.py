"""Batched, non-blocking persistence of request records.

Request handlers call ``RecordWriter.submit``; a background task writes what they
submitted in batches, in a worker thread. A failed write keeps its batch and is
retried with exponential backoff; inserts ignore rows whose key already exists, so a
batch whose commit succeeded but was reported as failed is not written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Insert, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from gateway.store.models import ATTEMPTS, RECORDS
from gateway.store.records import RequestRecord

log = logging.getLogger(__name__)

Rows = dict[Table, list[dict[str, Any]]]
"""Rows to insert, by table."""

InsertFn = Callable[[Engine, Mapping[Table, Sequence[Mapping[str, Any]]]], None]
"""Writes one batch in one transaction; runs in a worker thread; raises on failure."""

TABLE_ORDER: tuple[Table, ...] = (RECORDS, ATTEMPTS)
_CONFLICT_KEYS: dict[str, list[str]] = {RECORDS.name: ["id"], ATTEMPTS.name: ["record_id", "attempt"]}


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters since the writer was created.

    ``dropped``: records lost because the buffer was full or the writer gave up at
    shutdown; ``rejected``: records the database refused as invalid (logged).
    """

    submitted: int
    written: int
    failed_flushes: int
    dropped: int
    queue_depth: int
    rejected: int = 0


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
    thread. At most ``max_queue`` records wait (besides the batch being written);
    beyond that ``_overflow`` takes them. A failed write keeps its batch and is retried
    after ``retry_initial`` seconds, doubling up to ``retry_max``. Records the database
    refuses as invalid are logged, counted as ``rejected`` and skipped; the rest of
    their batch is written. ``close`` stops the task and writes what is left, retrying
    for up to ``close_timeout`` seconds.
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
        self._buffer: deque[RequestRecord] = deque()
        self._pending: list[tuple[RequestRecord, Rows]] = []
        self._mutex = threading.Lock()
        self._counts = {"submitted": 0, "written": 0, "failed_flushes": 0, "dropped": 0, "rejected": 0}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
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
        """Buffer ``record`` for writing. Never blocks, never raises; safe from any thread.
        After ``close`` has returned, records go to ``_overflow``."""
        try:
            with self._mutex:
                self._counts["submitted"] += 1
                full = self._closed or len(self._buffer) >= self._max_queue
                if not full:
                    self._buffer.append(record)
                batch_ready = len(self._buffer) >= self._batch_size
            if full:
                self._overflow(record)
            elif batch_ready:
                self._signal(self._wake)
        except Exception:
            log.exception("record %s could not be buffered", getattr(record, "id", "?"))

    def _overflow(self, record: RequestRecord) -> None:
        """Take a record that cannot be buffered or written (full buffer, or shutdown
        with the database down). Must not raise or block. Today: count it and log."""
        with self._mutex:
            self._counts["dropped"] += 1
            dropped = self._counts["dropped"]
        if dropped % 1000 == 1:
            log.warning(
                "record %s dropped (%d so far): buffer full or database down",
                getattr(record, "id", "?"),
                dropped,
            )

    async def start(self) -> None:
        """Start the background flush task on the running loop; idempotent."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="record-writer")

    async def flush(self) -> bool:
        """Write everything buffered now. True when nothing is left; never raises."""
        return await self._write_all()

    async def close(self) -> None:
        """Stop the background task and write everything left. If the database stays
        unreachable for ``close_timeout`` seconds, the rest goes to ``_overflow``."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if not await self._write_all_before(asyncio.get_running_loop().time() + self._close_timeout):
            self._abandon_remaining()
        with self._mutex:
            self._closed = True

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

    async def _write_all_before(self, deadline: float) -> bool:
        loop = asyncio.get_running_loop()
        delay = 0.0
        while not await self._write_all():
            delay = self._next_delay(delay)
            if loop.time() + delay > deadline:
                return False
            await asyncio.sleep(delay)
        return True

    def _abandon_remaining(self) -> None:
        with self._mutex:
            left = [record for record, _ in self._pending] + list(self._buffer)
            self._pending.clear()
            self._buffer.clear()
        log.error("database unavailable at shutdown; %d records not written", len(left))
        for record in left:
            self._overflow(record)

    async def _write_all(self) -> bool:
        """Write pending, then buffered, records in batches until none are left (True)
        or a write fails (False; the failed batch stays pending)."""
        async with self._write_lock:
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

    def _prepare(self, record: RequestRecord) -> tuple[RequestRecord, Rows] | None:
        try:
            return record, rows_of(record)
        except Exception:
            log.exception("record %s cannot be turned into rows; rejected", getattr(record, "id", "?"))
            self._count("rejected")
            return None

    async def _write_pending(self) -> bool:
        """Write ``_pending`` in one transaction; on a data error, record by record,
        rejecting the records the database refuses. True when ``_pending`` is empty."""
        pending = list(self._pending)
        if not pending:
            return True
        try:
            await asyncio.to_thread(self._insert_fn, self._engine, merge_rows(rows for _, rows in pending))
        except Exception as exc:
            if not is_data_error(exc):
                return self._failed(exc, pending)
            if len(pending) > 1:
                return await self._write_one_by_one(pending)
            self._reject(pending[0][0], exc)
            self._set_pending([])
            return True
        with self._mutex:
            self._counts["written"] += len(pending)
            self._pending = []
        return True

    async def _write_one_by_one(self, pending: list[tuple[RequestRecord, Rows]]) -> bool:
        for index, (record, rows) in enumerate(pending):
            try:
                await asyncio.to_thread(self._insert_fn, self._engine, rows)
            except Exception as exc:
                if not is_data_error(exc):
                    return self._failed(exc, pending[index:])
                self._reject(record, exc)
                continue
            self._count("written")
        self._set_pending([])
        return True

    def _reject(self, record: RequestRecord, exc: Exception) -> None:
        log.error("record %s rejected by the database: %s", record.id, exc)
        self._count("rejected")

    def _set_pending(self, pending: list[tuple[RequestRecord, Rows]]) -> None:
        with self._mutex:
            self._pending = pending

    def _failed(self, exc: Exception, left: list[tuple[RequestRecord, Rows]]) -> bool:
        log.warning("writing %d records failed, will retry: %s", len(left), exc)
        with self._mutex:
            self._pending = left
            self._counts["failed_flushes"] += 1
        return False

    def _count(self, name: str) -> None:
        with self._mutex:
            self._counts[name] += 1

    def _signal(self, event: asyncio.Event) -> None:
        """Set ``event`` from any thread; a no-op before ``start`` or after the loop closed."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)


async def _wait(event: asyncio.Event, timeout: float) -> None:
    """Wait until ``event`` is set or ``timeout`` seconds pass."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
