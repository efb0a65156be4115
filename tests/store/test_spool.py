"""The writer's durable spool, on SQLite and PostgreSQL: records the database cannot take
go to JSON-lines files and come back exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shutil
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from gateway.core import metrics as m
from gateway.core.results import Usage
from gateway.store.db import create_engine_for
from gateway.store.records import Attempt, RequestRecord
from gateway.store.repository import ActivityRepository
from gateway.store.spool import Rows, Spool, decode, encode
from gateway.store.writer import InsertOutcome, RecordWriter, insert_rows, rows_of

BASE_ID = 7_400_000_000_000_000_000
BASE_TIME = dt.datetime(2024, 11, 24, 12, 0, tzinfo=dt.UTC)
FAST: dict[str, Any] = {"flush_interval": 0.01, "retry_initial": 0.01, "retry_max": 0.05}


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    return migrated_engine


class Database:
    """An ``insert_fn`` that can be switched down (every write fails as a lost connection)."""

    def __init__(self) -> None:
        self.up = True
        self.calls = 0

    def __call__(self, engine: Engine, rows: Sequence[Rows]) -> InsertOutcome:
        self.calls += 1
        if not self.up:
            raise sa.exc.OperationalError("INSERT", {}, ConnectionError("database is down"))
        return insert_rows(engine, rows)


def make_record(n: int, **changes: Any) -> RequestRecord:
    usage = Usage(input_tokens=10 + n, output_tokens=5, total_tokens=15 + n)
    values: dict[str, Any] = {
        "id": BASE_ID + n, "request_id": f"sp-{n}", "created_at": BASE_TIME + dt.timedelta(seconds=n),
        "endpoint": "chat.completions", "provider": "openai", "model_requested": "gpt-4o-mini",
        "model_answered": "gpt-4o-mini-2024-07-18", "stream": n % 2 == 0, "status": m.STATUS_SUCCESS,
        "http_status": 200, "time_taken_ms": 12.5 + n,
        "metrics": m.build_metrics(llm_request_id=BASE_ID + n, status=m.STATUS_SUCCESS, time_taken_ns=12_500_000,
                                   usage=usage),
        "metadata": {"user": f"u{n}", "tags": ["a", "ü"]}, "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens, "total_tokens": usage.total_tokens, "first_token_ms": 3.25,
    }
    values.update(changes)
    return RequestRecord(**values)


def ids_in(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(sa.text("SELECT id FROM request_records ORDER BY id")).scalars())


async def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def test_a_spooled_record_decodes_to_the_same_rows() -> None:
    record = make_record(1, input_cost=Decimal("0.000001234567"), cost=Decimal("12.5"),
                         created_at=dt.datetime(2024, 11, 24, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
                         request_body={"messages": [{"role": "user", "content": "x"}]}, metadata={"k": "v"},
                         attempts=[Attempt(1, "openai", "m", m.STATUS_FAILED, 502, 1.5, "upstream_error", "boom"),
                                   Attempt(2, "openai", "m", m.STATUS_SUCCESS, 200, 2.5)])
    rows = rows_of(record)
    decoded = decode(encode(rows))
    assert decoded == rows
    assert isinstance(decoded[next(iter(decoded))][0]["input_cost"], Decimal)


async def test_full_buffer_spills_to_the_spool_and_is_replayed_once(engine: Engine, tmp_path: Path) -> None:
    database = Database()
    database.up = False
    spool_dir = tmp_path / "spool"
    writer = RecordWriter(engine, max_queue=20, batch_size=8, insert_fn=database, spool_dir=spool_dir, **FAST)
    await writer.start()
    records = [make_record(n) for n in range(150)]
    for record in records:
        writer.submit(record)
        if record.id % 10 == 0:
            await asyncio.sleep(0)
    await wait_until(lambda: writer.stats.spooled + writer.stats.queue_depth == 150)
    assert writer.stats.spooled >= 150 - 20 - 8 and writer.stats.dropped == 0
    assert writer.stats.queue_depth <= 20 + 8, "the buffer stays bounded"
    assert list(spool_dir.glob("*.jsonl")) and ids_in(engine) == []

    database.up = True
    await wait_until(lambda: writer.stats.written + writer.stats.replayed == 150)
    assert await writer.flush()
    await writer.close()
    assert ids_in(engine) == [r.id for r in records]
    stats = writer.stats
    assert (stats.replayed, stats.dropped, stats.queue_depth) == (stats.spooled, 0, 0)
    assert list(spool_dir.iterdir()) == []


async def test_shutdown_with_the_database_down_spools_and_the_next_start_replays(engine: Engine,
                                                                                 tmp_path: Path) -> None:
    database = Database()
    spool_dir = tmp_path / "spool"
    first = RecordWriter(engine, batch_size=10, insert_fn=database, spool_dir=spool_dir, **FAST)
    await first.start()
    for n in range(5):
        first.submit(make_record(n))
    assert await first.flush()
    database.up = False
    records = [make_record(n) for n in range(5, 42)]
    for record in records:
        first.submit(record)
    started = asyncio.get_running_loop().time()
    await first.close()
    assert asyncio.get_running_loop().time() - started < 2, "a spool means no waiting for the database"
    assert (first.stats.spooled, first.stats.dropped, first.stats.written) == (37, 0, 5)
    assert len(list(spool_dir.glob("*.jsonl"))) == 4
    first.submit(make_record(99))
    assert first.stats.spooled == 38, "a record submitted after close is spooled too"

    second = RecordWriter(engine, batch_size=10, spool_dir=spool_dir, flush_interval=3600)
    await second.start()
    await wait_until(lambda: second.stats.replayed == 38)
    await second.close()
    assert ids_in(engine) == sorted([BASE_ID + n for n in range(42)] + [BASE_ID + 99])
    assert list(spool_dir.iterdir()) == []


async def test_a_crash_between_commit_and_delete_does_not_duplicate(engine: Engine, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    records = [make_record(n, attempts=[Attempt(1, "openai", "m", m.STATUS_FAILED, 502, 1.0),
                                        Attempt(2, "openai", "m", m.STATUS_SUCCESS, 200, 1.0)])
               for n in range(6)]
    path = spool.append([rows_of(r) for r in records])
    saved = tmp_path / "copy.jsonl"
    shutil.copy(path, saved)
    writer = RecordWriter(engine, spool_dir=spool.directory, flush_interval=3600)
    assert await writer.flush()
    assert not path.exists()
    shutil.copy(saved, path)
    writer = RecordWriter(engine, spool_dir=spool.directory, flush_interval=3600)
    assert await writer.flush()
    assert ids_in(engine) == [r.id for r in records]
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM request_attempts")).scalar_one() == 12
    assert spool.files() == []


async def test_replay_stops_at_a_failed_write_and_keeps_the_file(engine: Engine, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    first = spool.append([rows_of(make_record(n)) for n in range(3)])
    second = spool.append([rows_of(make_record(n)) for n in range(3, 5)])
    database = Database()
    database.up = False
    writer = RecordWriter(engine, spool_dir=spool.directory, insert_fn=database, flush_interval=3600)
    assert not await writer.flush()
    assert spool.files() == [first, second] and writer.stats.failed_flushes == 1
    database.up = True
    assert await writer.flush()
    assert ids_in(engine) == [BASE_ID + n for n in range(5)] and spool.files() == []
    assert writer.stats.replayed == 5


async def test_bad_lines_and_invalid_records_in_the_spool_are_skipped(engine: Engine, tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path / "spool")
    path = spool.append([rows_of(make_record(1)), rows_of(make_record(2, endpoint=None)), rows_of(make_record(3))])
    path.write_bytes(path.read_bytes() + b'{"not a table": []}\n{truncated\n')
    writer = RecordWriter(engine, spool_dir=spool.directory, flush_interval=3600)
    with caplog.at_level(logging.ERROR, logger="gateway.store"):
        assert await writer.flush()
    assert ids_in(engine) == [BASE_ID + 1, BASE_ID + 3]
    assert (writer.stats.replayed, writer.stats.rejected) == (2, 1)
    assert sum("is not a record" in r.getMessage() for r in caplog.records) == 2
    assert spool.files() == []


async def test_a_file_another_process_is_replaying_is_left_alone(engine: Engine, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    path = spool.append([rows_of(make_record(1))])
    claimed = spool.claim(path)
    assert claimed is not None and spool.claim(path) is None
    writer = RecordWriter(engine, spool_dir=spool.directory, flush_interval=3600)
    assert await writer.flush()
    assert ids_in(engine) == [] and path.exists()
    spool.release(claimed, done=False)
    writer = RecordWriter(engine, spool_dir=spool.directory, flush_interval=3600)
    assert await writer.flush()
    assert ids_in(engine) == [BASE_ID + 1] and not path.exists()


def test_an_unwritable_spool_drops_with_an_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    writer = RecordWriter(create_engine_for(f"sqlite:///{tmp_path}/g.db"), max_queue=2,
                          spool_dir=not_a_directory / "spool")
    with caplog.at_level(logging.ERROR, logger="gateway.store"):
        for n in range(5):
            writer.submit(make_record(n))
    stats = writer.stats
    assert (stats.submitted, stats.spooled, stats.dropped, stats.queue_depth) == (5, 0, 3, 2)
    assert any("not writable" in r.getMessage() for r in caplog.records)


def test_submit_spools_when_the_buffer_is_full_before_start(tmp_path: Path) -> None:
    writer = RecordWriter(create_engine_for(f"sqlite:///{tmp_path}/g.db"), max_queue=5, spool_dir=tmp_path / "spool")
    for n in range(8):
        writer.submit(make_record(n))
    writer.submit(None)  # type: ignore[arg-type]
    stats = writer.stats
    assert (stats.submitted, stats.spooled, stats.dropped, stats.rejected, stats.queue_depth) == (9, 3, 0, 1, 5)
    assert len(Spool(tmp_path / "spool").files()) == 3


async def test_replayed_records_read_back_like_written_ones(engine: Engine, tmp_path: Path) -> None:
    direct = make_record(1, cost=Decimal("0.000123456789"), error_message="nul\x00here")
    spooled = make_record(2, cost=Decimal("0.000123456789"), error_message="nul\x00here")
    spool = Spool(tmp_path / "spool")
    spool.append([rows_of(spooled)])
    writer = RecordWriter(engine, spool_dir=spool.directory, flush_interval=3600)
    writer.submit(direct)
    assert await writer.flush()
    repo = ActivityRepository(engine)
    one, two = repo.get_record("sp-1"), repo.get_record("sp-2")
    assert one is not None and two is not None
    differing = {"id", "request_id", "created_at", "stream", "time_taken_ms", "input_tokens", "total_tokens",
                 "metrics", "metadata"}
    assert {k: v for k, v in one.items() if k not in differing} == {k: v for k, v in two.items() if k not in differing}
    assert two["cost"] == one["cost"] and two["created_at"] == "2024-11-24T12:00:02+00:00"
    assert two["metadata"] == {"user": "u2", "tags": ["a", "ü"]}
