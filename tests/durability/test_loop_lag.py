"""The record writer never blocks the event loop: with the database stalled (an insert hung
in its worker thread, as on a lock) and the buffer full, records keep arriving in bursts, so
they go to the spool (the first burst alone is more than the buffer holds); a ticker measures
how late ``asyncio.sleep(0.001)`` wakes up, and no file is synced on the loop's thread. Once the
database takes writes again, every record is in it exactly once (written or spooled then
replayed) and nothing is left in the spool.

There is no journal here: its appends are a ``write`` in the caller's thread by design
(``gateway.store.journal``), which the filesystem can hold up when anything on the machine
syncs, whatever the writer does.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from gateway.store.spool import Rows, Spool
from gateway.store.writer import InsertOutcome, RecordWriter, insert_rows
from tests.durability.records import BASE_ID, make_record

RECORDS = 4000
BURST = 40
FIRST_BURST = 1500
MAX_QUEUE = 1000
BATCH = 500
MAX_LAG = 0.005


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    return migrated_engine


class StalledDatabase:
    """An ``insert_fn`` that hangs (in its worker thread) until ``release``, like an insert
    waiting on a lock, then writes."""

    def __init__(self) -> None:
        self.stalled = threading.Event()
        self._released = threading.Event()

    def __call__(self, engine: Engine, rows: Sequence[Rows]) -> InsertOutcome:
        self.stalled.set()
        self._released.wait(timeout=120)
        return insert_rows(engine, rows)

    def release(self) -> None:
        self._released.set()


def _run_delay() -> Callable[[], float]:
    """Seconds this process's threads have spent runnable but not running (waiting for a CPU
    other processes on the machine hold), when the kernel tells (``/proc/self/task/*/schedstat``).
    Any of them counts: one preempted while it holds the GIL stalls the loop as well."""
    tasks = Path("/proc/self/task")

    def waited() -> float:
        total = 0
        for task in tasks.iterdir():
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += int((task / "schedstat").read_text().split()[1])
        return total / 1e9

    try:
        waited()
    except OSError:
        return lambda: 0.0
    return waited


class LagMeter:
    """A task sleeping 1 ms at a time, keeping the worst lateness of its wake-ups: ``worst``
    as measured, ``worst_own`` less the time the process's threads waited for a CPU, so that
    a busy machine (other test runs) does not count as the writer blocking the loop;
    blocking on a file, the GIL or a lock counts, as does work on the loop."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.worst_own = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _tick(self) -> None:
        run_delay = _run_delay()
        while True:
            waited = run_delay()
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            lag = time.perf_counter() - started - 0.001
            self.worst = max(self.worst, lag)
            self.worst_own = max(self.worst_own, lag - (run_delay() - waited))
            self.ticks += 1


def ids_in(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(sa.text("SELECT id FROM request_records ORDER BY id")).scalars())


class LoopFsyncs:
    """``os.fsync`` wrapped to count the calls made on the event loop's thread: spilling to the
    spool syncs files, and none of that may happen where the loop runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.on_loop = 0
        self.elsewhere = 0
        self._loop_thread = threading.get_ident()
        real = os.fsync

        def counted(fd: int) -> None:
            if threading.get_ident() == self._loop_thread:
                self.on_loop += 1
            else:
                self.elsewhere += 1
            real(fd)

        monkeypatch.setattr(os, "fsync", counted)


async def test_a_full_buffer_with_the_database_stalled_does_not_block_the_loop(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fsyncs = LoopFsyncs(monkeypatch)
    database = StalledDatabase()
    spool = tmp_path / "spool"
    writer = RecordWriter(engine, max_queue=MAX_QUEUE, batch_size=BATCH, flush_interval=0.01, retry_initial=0.01,
                          retry_max=0.05, insert_fn=database, spool_dir=spool)
    await writer.start()
    records = [make_record(n) for n in range(RECORDS)]
    gc.collect()
    gc.disable()  # a collection pauses for the whole process's heap, whoever allocates; the writer makes no cycles
    meter = LagMeter()
    try:
        for record in records[:FIRST_BURST]:  # more than the buffer holds, at once (the loop is busy
            writer.submit(record)             # submitting, so the lag is measured from the next bursts)
        await asyncio.sleep(0.004)
        meter.start()
        for start in range(FIRST_BURST, RECORDS, BURST):
            for record in records[start : start + BURST]:
                writer.submit(record)
            await asyncio.sleep(0.004)
        assert database.stalled.is_set()
        deadline = time.monotonic() + 30
        while writer.stats.spooled + writer.stats.queue_depth < RECORDS:
            assert time.monotonic() < deadline, writer.stats
            await asyncio.sleep(0.005)
        await meter.stop()
    finally:
        database.release()
        gc.enable()
    stats = writer.stats
    print(f"\nworst loop lag while the database was stalled: {meter.worst_own * 1e3:.2f} ms "
          f"({meter.worst * 1e3:.2f} ms with the waits for a CPU) over {meter.ticks} ticks; {stats}")
    assert stats.spooled >= RECORDS - MAX_QUEUE - BATCH, "the full buffer went to the spool"
    assert fsyncs.elsewhere > 0 and fsyncs.on_loop == 0, f"{fsyncs.on_loop} fsync(s) on the event loop's thread"
    assert meter.worst_own < MAX_LAG, f"the event loop was blocked for {meter.worst_own * 1e3:.1f} ms"

    assert await writer.flush()
    await writer.close()
    stats = writer.stats
    assert ids_in(engine) == [BASE_ID + n for n in range(RECORDS)], "every record exactly once"
    assert (stats.submitted, stats.dropped, stats.rejected, stats.queue_depth) == (RECORDS, 0, 0, 0), stats
    assert stats.written + stats.replayed == RECORDS and stats.replayed == stats.spooled, stats
    assert Spool(spool).files() == []
