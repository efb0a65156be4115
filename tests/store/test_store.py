"""The records store on SQLite and PostgreSQL: migrations, writer, repository."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Table

from gateway.core import metrics as m
from gateway.core.ids import id_floor
from gateway.core.results import Usage
from gateway.store.db import alembic_config, create_engine_for, normalize_url, ping, run_migrations
from gateway.store.models import ATTEMPTS, Base
from gateway.store.records import RequestRecord
from gateway.store.repository import ActivityFilters, ActivityRepository
from gateway.store.spool import Rows
from gateway.store.writer import InsertOutcome, RecordWriter, insert_rows

BASE_TIME = dt.datetime(2024, 11, 24, 12, 0, tzinfo=dt.UTC)
_PER_SECOND = 1000 << 22


def rid(n: int) -> int:
    """Record ``n``'s id: the snowflake of its ``created_at``, as the gateway mints them."""
    return id_floor(BASE_TIME + dt.timedelta(seconds=n))


def number(record_id: int) -> int:
    return (record_id - rid(0)) // _PER_SECOND


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file in a directory not yet created, or a fresh
    PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/data/gateway.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a migrated database."""
    run_migrations(db_url)
    engine = create_engine_for(db_url)
    yield engine
    engine.dispose()


def make_record(n: int, **changes: Any) -> RequestRecord:
    """Record number ``n``: ids and timestamps grow with ``n``."""
    record_id = rid(n)
    status = changes.pop("status", m.STATUS_SUCCESS)
    usage = Usage(input_tokens=10 + n, output_tokens=5, total_tokens=15 + n)
    record = RequestRecord(
        id=record_id,
        request_id=f"req-{n}",
        created_at=BASE_TIME + dt.timedelta(seconds=n),
        endpoint="chat.completions",
        provider="openai",
        model_requested="gpt-4o-mini",
        model_answered="gpt-4o-mini-2024-07-18",
        stream=n % 2 == 0,
        status=status,
        http_status=200,
        time_taken_ms=12.5 + n,
        metrics=m.build_metrics(llm_request_id=record_id, status=status, time_taken_ns=12_500_000, usage=usage),
        metadata={"user": f"u{n}", "tags": ["a", "b"]},
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        first_token_ms=3.25,
        key_id="key-1",
    )
    return replace(record, **changes)


async def write(engine: Engine, records: Sequence[RequestRecord], **options: Any) -> RecordWriter:
    """Write ``records`` through a started-then-closed ``RecordWriter``."""
    writer = RecordWriter(engine, **options)
    await writer.start()
    for record in records:
        writer.submit(record)
    await writer.close()
    return writer


def all_ids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(sa.text("SELECT id FROM request_records ORDER BY id")).scalars())


def test_run_migrations_creates_tables_and_indexes_on_empty_database(db_url: str) -> None:
    run_migrations(db_url)
    run_migrations(db_url)
    engine = create_engine_for(db_url)
    try:
        inspector = sa.inspect(engine)
        assert {"request_records", "request_attempts", "api_keys", "alembic_version"} <= set(
            inspector.get_table_names())
        for table in Base.metadata.sorted_tables:
            migrated = {column["name"] for column in inspector.get_columns(table.name)}
            assert migrated == set(table.columns.keys()), f"migrations and models disagree on {table.name}"
        indexes = {index["name"] for index in inspector.get_indexes("request_records")}
        assert {
            "ix_request_records_request_id",
            "ix_request_records_provider_id",
            "ix_request_records_model_requested_id",
            "ix_request_records_status_id",
            "ix_request_records_key_id_id",
            "ix_request_records_created_at_id",
        } <= indexes
        with engine.connect() as connection:
            version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
        assert version == ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
        assert ping(engine)
    finally:
        engine.dispose()


async def test_writer_writes_every_submitted_record(engine: Engine) -> None:
    records = [make_record(n) for n in range(1234)]
    writer = await write(engine, records, batch_size=100, flush_interval=0.01)
    assert ActivityRepository(engine).count() == 1234
    assert all_ids(engine) == [r.id for r in records]
    stats = writer.stats
    assert (stats.submitted, stats.written, stats.dropped, stats.queue_depth) == (1234, 1234, 0, 0)


async def test_flush_writes_buffered_records_without_waiting_for_the_interval(engine: Engine) -> None:
    writer = RecordWriter(engine, batch_size=1000, flush_interval=3600)
    await writer.start()
    for n in range(5):
        writer.submit(make_record(n))
    assert await writer.flush()
    assert ActivityRepository(engine).count() == 5
    await writer.close()


async def test_success_failed_and_cancelled_records_round_trip(engine: Engine) -> None:
    success = make_record(1)
    failed = make_record(
        2,
        status=m.STATUS_FAILED,
        http_status=502,
        error_type="upstream_error",
        error_message="bad gateway: ü 🚀",
        model_answered=None,
        output_tokens=None,
        first_token_ms=None,
    )
    cancelled = make_record(3, status=m.STATUS_CANCELLED, http_status=499, stream=True, key_id=None, metadata={})
    await write(engine, [success, failed, cancelled])
    repo = ActivityRepository(engine)
    for record in (success, failed, cancelled):
        stored = repo.get_record(record.request_id)
        assert stored is not None
        expected = record.as_row() | {"created_at": record.created_at.isoformat(), "attempts": [], "id": str(record.id)}
        assert stored == expected
        assert stored["metrics"][1] == {
            "name": m.STATUS,
            "value": record.status,
            "description": m.DESCRIPTIONS[m.STATUS],
        }


async def test_costs_read_back_as_the_same_plain_decimal_text_as_their_metrics(engine: Engine) -> None:
    costs = Decimal("0.000000450000"), Decimal("0E-12"), Decimal("0.000000450000")
    record = make_record(1, input_cost=costs[0], output_cost=costs[1], cost=costs[2])
    record.metrics.extend(m.cost_metrics(*costs))
    await write(engine, [record])
    repo = ActivityRepository(engine)
    listed = repo.list_records(ActivityFilters()).items[0]
    fetched = repo.get_record(record.request_id)
    assert fetched is not None
    for stored in (listed, fetched):
        metric = {item["name"]: item["value"] for item in stored["metrics"]}
        assert (stored["input_cost"], stored["output_cost"], stored["cost"]) == (
            "0.000000450000", "0.000000000000", "0.000000450000")
        assert (metric[m.INPUT_COST], metric[m.OUTPUT_COST], metric[m.COST]) == (
            stored["input_cost"], stored["output_cost"], stored["cost"])


async def test_created_at_comes_back_in_utc(engine: Engine) -> None:
    local = dt.datetime(2024, 11, 24, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    await write(engine, [make_record(1, created_at=local)])
    stored = ActivityRepository(engine).get_record("req-1")
    assert stored is not None
    assert stored["created_at"] == "2024-11-24T12:00:00+00:00"


async def test_list_records_filters(engine: Engine) -> None:
    records = [
        make_record(1, provider="openai", model_requested="m-a", model_answered="m-a-1", key_id="k1"),
        make_record(2, provider="anthropic", model_requested="m-b", model_answered="m-b", key_id="k2"),
        make_record(3, provider="openai", model_requested="alias", model_answered="m-a", status=m.STATUS_FAILED),
        make_record(4, provider="gemini", model_requested="m-c", model_answered=None, status=m.STATUS_CANCELLED),
        make_record(5, provider=None, model_requested=None, model_answered=None, key_id=None),
    ]
    await write(engine, records)
    repo = ActivityRepository(engine)

    def ids(**filters: Any) -> list[int]:
        return [number(int(item["id"])) for item in repo.list_records(ActivityFilters(**filters), 50).items]

    assert ids() == [5, 4, 3, 2, 1]
    assert ids(provider="openai") == [3, 1]
    assert ids(model="m-a") == [3, 1]
    assert ids(model="m-a-1") == [1]
    assert ids(model="alias") == [3]
    assert ids(status=m.STATUS_FAILED) == [3]
    assert ids(status=m.STATUS_CANCELLED, provider="gemini") == [4]
    assert ids(key_id="k2") == [2]
    assert ids(since=BASE_TIME + dt.timedelta(seconds=2)) == [5, 4, 3, 2]
    assert ids(until=BASE_TIME + dt.timedelta(seconds=2)) == [1]
    assert ids(
        since=BASE_TIME.replace(tzinfo=None) + dt.timedelta(seconds=2),
        until=BASE_TIME.replace(tzinfo=None) + dt.timedelta(seconds=4),
    ) == [3, 2]
    assert ids(provider="nobody") == []
    assert ids(provider="x' OR '1'='1") == []


async def test_keyset_pagination_returns_every_record_once_newest_first(engine: Engine) -> None:
    records = [make_record(n, status=m.STATUS_FAILED if n % 3 == 0 else m.STATUS_SUCCESS) for n in range(95)]
    await write(engine, records)
    repo = ActivityRepository(engine)
    for filters, expected in (
        (ActivityFilters(), [r.id for r in records]),
        (ActivityFilters(status=m.STATUS_FAILED), [r.id for r in records if r.status == m.STATUS_FAILED]),
    ):
        seen: list[int] = []
        cursor: int | None = None
        pages = 0
        while True:
            page = repo.list_records(filters, limit=10, cursor=cursor)
            pages += 1
            seen += [int(item["id"]) for item in page.items]
            if page.next_cursor is None:
                break
            assert page.next_cursor == int(page.items[-1]["id"])
            cursor = page.next_cursor
        assert seen == sorted(expected, reverse=True)
        assert pages == -(-len(expected) // 10)


async def test_get_record_by_request_id_and_by_id_with_attempts(engine: Engine) -> None:
    record = make_record(7)
    other = make_record(8, request_id=str(rid(7)))
    await write(engine, [record, other])
    attempt = {
        "record_id": record.id,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "status": m.STATUS_FAILED,
        "http_status": 503,
        "error_type": "service_unavailable",
        "error_message": "overloaded",
        "time_taken_ms": 4.0,
    }
    attempts: dict[Table, list[dict[str, Any]]] = {
        ATTEMPTS: [
            attempt | {"attempt": 2, "status": m.STATUS_SUCCESS, "http_status": 200},
            attempt | {"attempt": 1},
        ]
    }
    insert_rows(engine, attempts)
    repo = ActivityRepository(engine)

    by_request_id = repo.get_record("req-7")
    assert by_request_id is not None
    assert by_request_id["id"] == str(record.id)
    assert [a["attempt"] for a in by_request_id["attempts"]] == [1, 2]
    assert by_request_id["attempts"][0]["error_message"] == "overloaded"

    by_id = repo.get_record(str(rid(8)))
    assert by_id is not None
    assert by_id["id"] == str(other.id)
    assert by_id["attempts"] == []
    shadowed = repo.get_record(str(rid(7)))
    assert shadowed is not None and shadowed["id"] == str(other.id)

    assert repo.get_record("req-404") is None
    assert repo.get_record("12") is None
    assert repo.get_record("9" * 30) is None
    assert repo.get_record("١٢") is None


async def test_writer_keeps_batch_while_database_is_down_and_writes_it_once(engine: Engine) -> None:
    calls = {"n": 0}
    threads: set[int] = set()

    def flaky(engine: Engine, rows: Sequence[Rows]) -> InsertOutcome:
        calls["n"] += 1
        threads.add(threading.get_ident())
        if calls["n"] <= 3:
            raise sa.exc.OperationalError("INSERT", {}, ConnectionError("database is down"))
        return insert_rows(engine, rows)

    records = [make_record(n) for n in range(120)]
    writer = RecordWriter(engine, batch_size=50, flush_interval=0.01, retry_initial=0.01, insert_fn=flaky)
    await writer.start()
    for record in records:
        writer.submit(record)
    await wait_until(lambda: writer.stats.written == 120)
    await writer.close()

    assert all_ids(engine) == [r.id for r in records]
    assert writer.stats.failed_flushes == 3
    assert writer.stats.dropped == 0
    assert threading.get_ident() not in threads


async def test_batch_committed_but_reported_failed_is_not_written_twice(engine: Engine) -> None:
    calls = {"n": 0}

    def commit_then_fail(engine: Engine, rows: Sequence[Rows]) -> InsertOutcome:
        calls["n"] += 1
        outcome = insert_rows(engine, rows)
        if calls["n"] == 1:
            raise sa.exc.OperationalError("COMMIT", {}, ConnectionError("connection lost after commit"))
        return outcome

    records = [make_record(n) for n in range(30)]
    writer = RecordWriter(engine, retry_initial=0.01, insert_fn=commit_then_fail)
    for record in records:
        writer.submit(record)
    assert not await writer.flush()
    assert await writer.flush()
    assert all_ids(engine) == [r.id for r in records]


async def test_invalid_record_is_rejected_and_the_rest_of_its_batch_written(engine: Engine) -> None:
    bad = make_record(2, endpoint=None)
    long_and_nul = make_record(3, request_id="r" * 300, error_message="nul\x00here", metadata={"k": "v\x00"})
    records = [make_record(1), bad, long_and_nul, make_record(4)]
    writer = await write(engine, records)
    assert all_ids(engine) == [rid(1), rid(3), rid(4)]
    assert (writer.stats.rejected, writer.stats.written, writer.stats.failed_flushes) == (1, 3, 0)
    stored = ActivityRepository(engine).get_record("r" * 128)
    assert stored is not None
    assert (stored["error_message"], stored["metadata"]) == ("nulhere", {"k": "v"})


async def test_lone_invalid_record_is_rejected_not_retried_forever(engine: Engine) -> None:
    writer = RecordWriter(engine)
    writer.submit(make_record(1, http_status=None))
    assert await writer.flush()
    writer.submit(make_record(2))
    assert await writer.flush()
    assert all_ids(engine) == [rid(2)]
    assert (writer.stats.rejected, writer.stats.written, writer.stats.queue_depth) == (1, 1, 0)


async def test_close_gives_up_after_timeout_when_database_stays_down(engine: Engine) -> None:
    def down(engine: Engine, rows: Sequence[Mapping[Table, Sequence[Mapping[str, Any]]]]) -> InsertOutcome:
        raise sa.exc.OperationalError("INSERT", {}, ConnectionError("database is down"))

    writer = await write(
        engine, [make_record(n) for n in range(3)], retry_initial=0.01, close_timeout=0.1, insert_fn=down
    )
    assert (writer.stats.dropped, writer.stats.written, writer.stats.queue_depth) == (3, 0, 0)
    assert writer.stats.failed_flushes >= 2


async def test_submit_from_another_thread_wakes_the_writer(engine: Engine) -> None:
    writer = RecordWriter(engine, batch_size=10, flush_interval=3600)
    await writer.start()

    def submit_all() -> None:
        for n in range(10):
            writer.submit(make_record(n))

    thread = threading.Thread(target=submit_all)
    thread.start()
    thread.join()
    await wait_until(lambda: writer.stats.written == 10)
    await writer.close()
    assert ActivityRepository(engine).count() == 10


def test_submit_drops_when_buffer_full_and_never_raises(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path}/g.db")
    writer = RecordWriter(engine, max_queue=5)
    for n in range(8):
        writer.submit(make_record(n))
    writer.submit(None)  # type: ignore[arg-type]
    stats = writer.stats
    assert (stats.submitted, stats.dropped, stats.queue_depth) == (9, 4, 5)


def test_normalize_url_rewrites_bare_postgres_schemes() -> None:
    expected = "postgresql+psycopg://u:p@h:5432/d"
    assert normalize_url("postgresql://u:p@h:5432/d") == expected
    assert normalize_url("postgres://u:p@h:5432/d") == expected
    assert normalize_url(expected) == expected
    assert normalize_url("sqlite:///./x.db") == "sqlite:///./x.db"
    assert create_engine_for("postgres://u@127.0.0.1:1/d").dialect.driver == "psycopg"


def test_sqlite_engine_creates_directory_and_uses_wal(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path}/a/b/g.db")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        assert (tmp_path / "a" / "b" / "g.db").exists()
    finally:
        engine.dispose()


def test_ping_is_false_when_database_unreachable() -> None:
    assert ping(create_engine_for("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2")) is False


async def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)
