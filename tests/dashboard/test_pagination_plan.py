"""Deep keyset pages of the activity list stay index-backed on a large table.

200k rows go straight into a SQLite file; the statement ``ActivityRepository.list_records``
actually executes is captured and run again under ``EXPLAIN QUERY PLAN``. Plans, not
timings, are asserted: every table access must be an index search, and no temporary
B-tree may sort the rows for ``ORDER BY``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event

from gateway.store.db import create_engine_for, run_migrations
from gateway.store.repository import ActivityFilters, ActivityRepository
from tests.dashboard.seed import insert, seed_id

ROWS = 200_000
DEEP = 150_000
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def row_id(n: int) -> int:
    return seed_id(n, T0 + dt.timedelta(seconds=n))


def bulk_row(n: int) -> dict[str, Any]:
    return {"id": row_id(n), "request_id": f"r{n}", "created_at": T0 + dt.timedelta(seconds=n),
            "endpoint": "chat.completions", "provider": ("openai", "anthropic")[n % 2],
            "model_requested": f"model-{n % 5}", "model_answered": None, "stream": False,
            "status": "FAILED" if n % 7 == 0 else "SUCCESS", "http_status": 200, "time_taken_ms": 1.0,
            "key_id": f"key-{n % 3}", "metadata": {}, "metrics": []}


@pytest.fixture(scope="module")
def big_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('big')}/activity.db"
    run_migrations(url)
    engine = create_engine_for(url)
    insert(engine, [bulk_row(n) for n in range(ROWS)])
    yield engine
    engine.dispose()


def captured_page(engine: Engine, filters: ActivityFilters, cursor: int) -> tuple[list[str], list[str]]:
    """The ids of one 50-row page and the SQLite plan of the query that fetched it."""
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor_: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        page = ActivityRepository(engine).list_records(filters, limit=50, cursor=cursor)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    (statement, parameters), = statements
    with engine.connect() as connection:
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return [item["id"] for item in page.items], [str(step[-1]) for step in plan]


def assert_index_backed(plan: list[str]) -> None:
    assert plan, "no plan"
    for step in plan:
        assert "TEMP B-TREE" not in step, f"sorts in a temporary B-tree: {plan}"
        assert step.startswith("SEARCH request_records USING INDEX"), f"not an index search: {plan}"


DEEP_CURSOR = row_id(DEEP)


@pytest.mark.parametrize("filters", [
    ActivityFilters(),
    ActivityFilters(status="FAILED"),
    ActivityFilters(provider="openai"),
    ActivityFilters(key_id="key-1"),
    ActivityFilters(provider="openai", status="FAILED"),
    ActivityFilters(model="model-3"),
    ActivityFilters(since=T0 + dt.timedelta(seconds=1000), until=T0 + dt.timedelta(seconds=190_000)),
], ids=["none", "status", "provider", "key", "provider+status", "model", "date-range"])
def test_a_deep_page_is_an_index_search(big_engine: Engine, filters: ActivityFilters) -> None:
    ids, plan = captured_page(big_engine, filters, DEEP_CURSOR)
    assert len(ids) == 50 and all(int(i) < DEEP_CURSOR for i in ids)
    assert ids == sorted(ids, key=int, reverse=True)
    assert_index_backed(plan)


def test_the_deep_page_holds_the_rows_just_below_the_cursor(big_engine: Engine) -> None:
    ids, _ = captured_page(big_engine, ActivityFilters(), DEEP_CURSOR)
    assert ids == [str(row_id(n)) for n in range(DEEP - 1, DEEP - 51, -1)]
