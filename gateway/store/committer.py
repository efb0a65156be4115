"""The record writer's committer: takes batches from the buffer and commits them.

A background task on the event loop runs a pass every ``flush_interval`` seconds (sooner
when woken): every buffered record, ``batch_size`` per transaction, then the spool's
replay (the ``then`` step). Each batch is cleaned and inserted in one worker-thread call,
through ``insert_fn`` (``gateway.store.inserts``, which recognises a record already there
and re-keys one whose id a different record took); the loop only moves references. A
failed write keeps its batch, and the next pass comes after ``retry_initial`` seconds,
doubling up to ``retry_max``. Records the database refuses as invalid are logged, counted
as ``rejected`` and skipped; the rest of their batch is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence

from sqlalchemy import Engine

from gateway.store.buffer import Item, RecordBuffer, clean_items
from gateway.store.counters import Counters
from gateway.store.inserts import InsertOutcome, is_data_error
from gateway.store.spool import Rows

log = logging.getLogger("gateway.store.writer")

InsertFn = Callable[[Engine, Sequence[Rows]], InsertOutcome]
"""Writes one batch (one record's rows per item) in one transaction; runs in a worker
thread; raises on failure."""

Settle = Callable[[Iterable[Item]], None]
"""Tells the journal these records are safe (committed, spooled or rejected)."""


class Committer:
    """Commits what waits in ``buffer``; see the module docstring. ``commit`` (blocking) is
    also what the spool's replay writes through. Passes never overlap, and
    ``on_id_conflicts`` is called on the loop after each with the records it re-keyed."""

    def __init__(self, engine: Engine, insert_fn: InsertFn, buffer: RecordBuffer, counters: Counters, *,
                 batch_size: int, flush_interval: float, retry_initial: float, retry_max: float, settle: Settle,
                 then: Callable[[], Awaitable[bool]], on_id_conflicts: Callable[[int], None] | None) -> None:
        self._engine = engine
        self._insert_fn = insert_fn
        self._buffer = buffer
        self._counters = counters
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._settle = settle
        self._then = then
        self._on_id_conflicts = on_id_conflicts
        self._pending: list[Item] = []
        self._pending_clean = False
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._first_pass = asyncio.Event()

    @property
    def pending(self) -> int:
        """Records taken from the buffer and not yet written."""
        return len(self._pending)

    @property
    def started(self) -> bool:
        return self._task is not None

    def start(self, *, pass_now: bool) -> None:
        """Start the background task on the running loop (its first pass at once with ``pass_now``)."""
        self._loop = asyncio.get_running_loop()
        self._stopping.clear()
        if pass_now:
            self._wake.set()
        self._task = self._loop.create_task(self._run(), name="record-writer")

    async def wait_first_pass(self, timeout: float) -> None:
        await _wait(self._first_pass, timeout)

    async def stop(self) -> None:
        """Stop the background task, after the pass under way."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    def wake(self) -> None:
        """Run a pass now; from any thread; a no-op before ``start`` or after the loop closed."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake.set)

    async def write_all(self) -> bool:
        """One pass: the buffer, then the ``then`` step; True when nothing is left."""
        async with self._locked():
            return await self._write_buffer_locked() and await self._then()

    async def write_buffer(self) -> bool:
        """Write every buffered record; True when none is left (False: the database failed)."""
        async with self._locked():
            return await self._write_buffer_locked()

    async def write_buffer_before(self, deadline: float) -> bool:
        """``write_buffer``, retried with backoff while the next try can start before ``deadline``."""
        loop = asyncio.get_running_loop()
        delay = 0.0
        while not await self.write_buffer():
            delay = self._next_delay(delay)
            if loop.time() + delay > deadline:
                return False
            await asyncio.sleep(delay)
        return True

    def take_pending(self) -> list[Item]:
        """Remove and return the batch not yet written (at shutdown)."""
        taken, self._pending = self._pending, []
        return taken

    def commit(self, items: list[Item]) -> tuple[list[Item], InsertOutcome]:
        """Insert cleaned ``items`` in one transaction (blocking); on a data error one by one,
        rejecting the records the database refuses. Returns the items left unwritten because
        the database failed (none on success; always the tail of ``items``) and the outcome."""
        if not items:
            return [], InsertOutcome()
        try:
            outcome = self._insert_fn(self._engine, [item.rows for item in items])
        except Exception as exc:
            if not is_data_error(exc):
                self._failed(exc, len(items))
                return items, InsertOutcome()
            if len(items) > 1:
                return self._commit_one_by_one(items)
            self._reject(items[0].id, exc)
            return [], InsertOutcome()
        self._note(outcome)
        return [], outcome

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
            done = await self.write_all()
            self._first_pass.set()
            delay = 0.0 if done else self._next_delay(delay)
        self._first_pass.set()

    def _next_delay(self, delay: float) -> float:
        return min(max(delay * 2, self._retry_initial), self._retry_max)

    @contextlib.asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        async with self._lock:
            before = self._counters["id_conflicts"]
            try:
                yield
            finally:
                reminted = self._counters["id_conflicts"] - before
                if reminted and self._on_id_conflicts is not None:
                    self._on_id_conflicts(reminted)

    async def _write_buffer_locked(self) -> bool:
        while True:
            if not self._pending:
                self._pending, self._pending_clean = self._buffer.take(self._batch_size), False
                if not self._pending:
                    return True
            left = await asyncio.to_thread(self._write_batch, self._pending, self._pending_clean)
            self._pending, self._pending_clean = left, True
            if left:
                return False

    def _write_batch(self, items: list[Item], clean: bool) -> list[Item]:
        """In a worker thread: clean ``items`` (unless ``clean``) and commit them; what is
        done with leaves the journal. Returns the (cleaned) items left unwritten."""
        if not clean:
            items = clean_items(items, self._reject_unclean)
        left, outcome = self.commit(items)
        self._counters.add("written", outcome.stored)
        self._settle(items[: len(items) - len(left)])
        return left

    def _commit_one_by_one(self, items: list[Item]) -> tuple[list[Item], InsertOutcome]:
        total = InsertOutcome()
        for index, (record_id, rows, _) in enumerate(items):
            try:
                outcome = self._insert_fn(self._engine, [rows])
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
        self._counters.add("duplicates", outcome.duplicates)
        self._counters.add("id_conflicts", outcome.reminted)

    def _reject_unclean(self, item: Item) -> None:
        self._counters.add("rejected")
        self._settle([item])

    def _reject(self, record_id: object, exc: Exception) -> None:
        log.error("record %s rejected by the database: %s", record_id, exc)
        self._counters.add("rejected")

    def _failed(self, exc: Exception, count: int) -> None:
        log.warning("writing %d records failed, will retry: %s", count, exc)
        self._counters.add("failed_flushes")


async def _wait(event: asyncio.Event, timeout: float) -> None:
    """Wait until ``event`` is set or ``timeout`` seconds pass."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
