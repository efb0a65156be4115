"""The record journal: every submitted record survives a SIGKILL of its process, is
recovered exactly once by the next start, and leaves the journal once committed."""

from __future__ import annotations

import asyncio
import stat
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from gateway.core import metrics as m
from gateway.store.db import create_engine_for, project_root, run_migrations
from gateway.store.journal import Journal, parse_name
from gateway.store.recovery import dead_journals
from gateway.store.spool import Rows, Spool
from gateway.store.writer import InsertOutcome, RecordWriter, insert_rows, rows_of
from tests.durability.records import BASE_ID, in_flight, make_record


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/gateway.db" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    run_migrations(url)
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine_for(db_url)
    yield engine
    engine.dispose()


def rows(engine: Engine) -> dict[str, tuple[str, int | None]]:
    """Status and output tokens by request id; fails on a request id seen twice."""
    with engine.connect() as connection:
        found = connection.execute(sa.text("SELECT request_id, status, output_tokens FROM request_records")).all()
    counts = Counter(r.request_id for r in found)
    assert max(counts.values(), default=1) == 1, f"duplicated: {[k for k, v in counts.items() if v > 1]}"
    return {r.request_id: (r.status, r.output_tokens) for r in found}


def attempts(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM request_attempts")).scalar_one())


def segments(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if parse_name(p.name)) if directory.is_dir() else []


def writer_for(engine: Engine, tmp_path: Path, **options: Any) -> RecordWriter:
    journal = Journal(tmp_path / "journal", **options.pop("journal", {}))
    return RecordWriter(engine, spool_dir=tmp_path / "spool", journal=journal, flush_interval=3600, **options)


def die_with_journal(db_url: str, tmp_path: Path, committed: int, journaled: int, streams: int) -> None:
    """Run a writer in a process that commits, journals and checkpoints, then is SIGKILLed."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.durability.records", db_url, str(tmp_path / "spool"), str(tmp_path / "journal"),
         str(committed), str(journaled), str(streams)],
        cwd=project_root(), capture_output=True, text=True, timeout=60)
    assert done.returncode == -9 and done.stdout.strip() == "ready", done.stderr[-2000:]


async def test_records_of_a_killed_process_are_recovered_exactly_once(db_url: str, engine: Engine,
                                                                      tmp_path: Path) -> None:
    die_with_journal(db_url, tmp_path, committed=20, journaled=30, streams=4)
    assert set(rows(engine)) == {f"jr-{n}" for n in range(20)}
    assert len(segments(tmp_path / "journal")) == 1

    second = writer_for(engine, tmp_path)
    await second.start()
    stored = rows(engine)
    assert set(stored) == {f"jr-{n}" for n in range(54)}, "recovered and replayed before start returns"
    assert all(stored[f"jr-{n}"] == (m.STATUS_CANCELLED, 3) for n in range(50, 54)), "streams: last checkpoint"
    assert stored["jr-21"][0] == m.STATUS_SUCCESS and attempts(engine) == 2 * 27, "odd records have two"
    stats = second.stats
    assert (stats.recovered, stats.replayed, stats.duplicates) == (54, 54, 20), stats
    await second.close()

    third = writer_for(engine, tmp_path)
    await third.start()
    assert third.stats.recovered == 0 and len(rows(engine)) == 54
    await third.close()
    assert segments(tmp_path / "journal") == [] and Spool(tmp_path / "spool").files() == []


async def test_a_crash_between_recovery_and_delete_duplicates_nothing(engine: Engine, db_url: str,
                                                                      tmp_path: Path) -> None:
    die_with_journal(db_url, tmp_path, committed=0, journaled=12, streams=2)
    journal = tmp_path / "journal"
    saved = {path: path.read_bytes() for path in segments(journal)}
    first = writer_for(engine, tmp_path)
    await first.start()
    await first.close()
    for path, data in saved.items():
        path.write_bytes(data)
    again = writer_for(engine, tmp_path)
    await again.start()
    assert again.stats.recovered == 14 and again.stats.duplicates == 14
    await again.close()
    assert len(rows(engine)) == 14 and attempts(engine) == 2 * 7


async def test_committed_records_leave_the_journal(engine: Engine, tmp_path: Path) -> None:
    writer = writer_for(engine, tmp_path, journal={"segment_records": 10, "fsync_interval": 0.01})
    await writer.start()
    for n in range(35):
        writer.submit(make_record(n))
    assert len(segments(tmp_path / "journal")) == 4
    assert await writer.flush()
    deadline = time.monotonic() + 5
    while len(segments(tmp_path / "journal")) > 1:
        assert time.monotonic() < deadline, segments(tmp_path / "journal")
        await asyncio.sleep(0.01)
    await writer.close()
    assert segments(tmp_path / "journal") == [] and len(rows(engine)) == 35


async def test_a_stream_checkpoint_is_replaced_by_its_final_record(engine: Engine, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal", segment_records=2)
    journal.open()
    journal.checkpoint(BASE_ID + 1, rows_of(in_flight(1, 1)))
    journal.checkpoint(BASE_ID + 2, rows_of(in_flight(2, 1)))
    journal.checkpoint(BASE_ID + 1, rows_of(in_flight(1, 2)))
    final = make_record(1, stream=True, output_tokens=9)
    journal.append(final.id, rows_of(final))
    assert journal.pending == 2
    insert_rows(engine, [rows_of(final)])
    journal.settle([final.id])
    assert journal.pending == 1
    assert journal.close() == 1, "the stream still in flight is kept for the next start"
    assert len(segments(tmp_path / "journal")) == 1, "the segment holding only settled entries is deleted"

    recovered = list(dead_journals(tmp_path / "journal", "another-process"))
    assert len(recovered) == 1
    outcome = insert_rows(engine, recovered[0].rows)
    assert (outcome.written, outcome.duplicates) == (1, 1), "the stale checkpoint of jr-1 is the same record"
    recovered[0].discard()
    assert rows(engine) == {"jr-1": (m.STATUS_SUCCESS, 9), "jr-2": (m.STATUS_CANCELLED, 1)}
    assert segments(tmp_path / "journal") == []


async def test_a_live_journal_is_not_recovered_by_another_worker(engine: Engine, tmp_path: Path) -> None:
    database = {"up": False}

    def insert(engine: Engine, batch: Sequence[Rows]) -> InsertOutcome:
        if not database["up"]:
            raise sa.exc.OperationalError("INSERT", {}, ConnectionError("database is down"))
        return insert_rows(engine, batch)

    live = writer_for(engine, tmp_path, insert_fn=insert, retry_initial=0.01, retry_max=0.02)
    await live.start()
    for n in range(5):
        live.submit(make_record(n))
    other = writer_for(engine, tmp_path)
    await other.start()
    assert other.stats.recovered == 0 and rows(engine) == {}
    await other.close()
    database["up"] = True
    await live.close()
    assert len(rows(engine)) == 5 and segments(tmp_path / "journal") == []


async def test_journal_and_spool_files_are_private(engine: Engine, tmp_path: Path) -> None:
    writer = writer_for(engine, tmp_path, max_queue=2)
    await writer.start()
    for n in range(5):
        writer.submit(make_record(n))
    deadline = time.monotonic() + 5
    while not Spool(tmp_path / "spool").files() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)  # the full buffer is spooled by the spill thread
    journal_files, spool_files = segments(tmp_path / "journal"), Spool(tmp_path / "spool").files()
    assert journal_files and spool_files
    for path in journal_files + spool_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for directory in (tmp_path / "journal", tmp_path / "spool"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    await writer.close()


async def test_an_unusable_journal_directory_leaves_the_writer_working(engine: Engine, tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "journal").write_text("not a directory")
    writer = writer_for(engine, tmp_path)
    await writer.start()
    writer.submit(make_record(1))
    assert await writer.flush()
    await writer.close()
    assert set(rows(engine)) == {"jr-1"}
    assert any("cannot be used" in r.getMessage() for r in caplog.records)
