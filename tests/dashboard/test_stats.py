"""``StatsRepository`` on known data (SQLite and PostgreSQL) and ``GET /v1/activity/stats`` over HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from gateway.api.routes.dashboard import auto_bucket_seconds
from gateway.store.db import create_engine_for
from gateway.store.stats import StatsRepository, StatsWindow, percentile
from tests.conftest import GatewayFactory
from tests.dashboard.seed import cost_metrics, insert, record_row

T0 = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)
WINDOW = StatsWindow(since=T0, until=T0 + dt.timedelta(minutes=3), bucket_seconds=60)


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    return migrated_engine


def seed_known(engine: Engine) -> None:
    """Minute 0: ten requests taking 1..10 ms (two FAILED), streamed ones with TTFT;
    minute 1: none; minute 2: one; plus one row on each side of the window."""
    rows = [record_row(i, T0 + dt.timedelta(seconds=5 * i), time_taken_ms=float(i + 1),
                       status="FAILED" if i in (3, 7) else "SUCCESS",
                       first_token_ms=float(100 * (i + 1)) if i < 4 else None,
                       model="openai/gpt-4o-mini" if i % 2 else "anthropic/claude-3-5-haiku",
                       provider="openai" if i % 2 else "anthropic",
                       metrics=cost_metrics("0.0010") if i % 2 else None)
            for i in range(10)]
    rows.append(record_row(10, T0 + dt.timedelta(minutes=2, seconds=59), time_taken_ms=42.0,
                           metrics=cost_metrics("0.0025"), input_tokens=100, output_tokens=None))
    rows.append(record_row(11, T0 - dt.timedelta(microseconds=1), time_taken_ms=9999.0))
    rows.append(record_row(12, T0 + dt.timedelta(minutes=3), time_taken_ms=9999.0))
    insert(engine, rows)


def test_buckets_count_requests_and_errors_and_take_percentiles(engine: Engine) -> None:
    seed_known(engine)
    stats = StatsRepository(engine).activity_stats(WINDOW)
    first, empty, last = stats["buckets"]
    assert [b["start"] for b in stats["buckets"]] == [
        (T0 + dt.timedelta(minutes=m)).isoformat() for m in range(3)]
    assert (first["requests"], first["errors"]) == (10, 2)
    assert (first["p50_ms"], first["p95_ms"], first["p99_ms"]) == (5.0, 10.0, 10.0)
    assert (first["ttft_p50_ms"], first["ttft_p95_ms"], first["ttft_p99_ms"]) == (200.0, 400.0, 400.0)
    assert empty == {"start": empty["start"], "requests": 0, "errors": 0, "p50_ms": None, "p95_ms": None,
                     "p99_ms": None, "ttft_p50_ms": None, "ttft_p95_ms": None, "ttft_p99_ms": None}
    assert (last["requests"], last["p50_ms"], last["p99_ms"], last["ttft_p50_ms"]) == (1, 42.0, 42.0, None)
    assert (stats["rows"], stats["capped"]) == (11, False)
    assert "note" not in stats


def test_by_model_sums_tokens_and_cost_metric(engine: Engine) -> None:
    seed_known(engine)
    by_model = StatsRepository(engine).activity_stats(WINDOW)["by_model"]
    assert by_model == [
        {"model": "openai/gpt-4o-mini", "provider": "openai", "requests": 6, "input_tokens": 150,
         "output_tokens": 25, "cost": "0.0075"},
        {"model": "anthropic/claude-3-5-haiku", "provider": "anthropic", "requests": 5, "input_tokens": 50,
         "output_tokens": 25, "cost": None},
    ]


def test_by_model_cost_is_null_only_when_no_record_was_priced(engine: Engine) -> None:
    insert(engine, [record_row(0, T0, model="free", metrics=cost_metrics("0.000000000000")),
                    record_row(1, T0, model="mixed", metrics=cost_metrics("4.5E-7")),
                    record_row(2, T0, model="mixed"), record_row(3, T0, model="unpriced")])
    by_model = StatsRepository(engine).activity_stats(WINDOW)["by_model"]
    assert {m["model"]: m["cost"] for m in by_model} == {"free": "0", "mixed": "0.00000045", "unpriced": None}


def test_a_window_over_the_row_cap_says_so(engine: Engine) -> None:
    seed_known(engine)
    stats = StatsRepository(engine, max_rows=4).activity_stats(WINDOW)
    assert stats["capped"] is True and stats["rows"] == 4
    assert "newest 4" in stats["note"]
    assert sum(b["requests"] for b in stats["buckets"]) == 4
    assert sum(m["requests"] for m in stats["by_model"]) == 11, "per-model counts stay exact"


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, p) for p in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_buckets_align_to_the_bucket_width() -> None:
    window = StatsWindow(since=T0 + dt.timedelta(seconds=10), until=T0 + dt.timedelta(seconds=125), bucket_seconds=60)
    assert window.bucket_starts() == [T0 + dt.timedelta(seconds=s) for s in (0, 60, 120)]


def test_auto_bucket_width_gives_at_most_about_120_buckets() -> None:
    assert auto_bucket_seconds(dt.timedelta(minutes=15)) == 10
    assert auto_bucket_seconds(dt.timedelta(hours=1)) == 30
    assert auto_bucket_seconds(dt.timedelta(days=7)) == 7200


def test_stats_endpoint_requires_the_master_key(gateway_factory: GatewayFactory) -> None:
    gw = gateway_factory(master_key="mk-dashboard")
    denied = gw.http.get("/v1/activity/stats")
    assert denied.status_code == 401
    assert denied.json()["error"]["type"] == "authentication_error"
    assert gw.http.get("/v1/activity/stats", headers={"authorization": "Bearer wrong"}).status_code == 401
    allowed = gw.http.get("/v1/activity/stats", headers={"authorization": "Bearer mk-dashboard"})
    assert allowed.status_code == 200
    assert allowed.json()["object"] == "activity.stats"


def test_stats_endpoint_serves_the_documented_shape(gateway_factory: GatewayFactory) -> None:
    gw = gateway_factory()
    engine = create_engine_for(gw.settings.database_url)
    try:
        seed_known(engine)
    finally:
        engine.dispose()
    params: dict[str, str | int] = {"since": WINDOW.since.isoformat(), "until": WINDOW.until.isoformat(),
                                    "bucket_seconds": 60}
    body = gw.http.get("/v1/activity/stats", params=params).json()
    assert (body["since"], body["until"], body["bucket_seconds"]) == (params["since"], params["until"], 60)
    assert [b["requests"] for b in body["buckets"]] == [10, 0, 1]
    assert body["buckets"][0]["p95_ms"] == 10.0
    assert {m["model"]: m["cost"] for m in body["by_model"]} == {
        "openai/gpt-4o-mini": "0.0075", "anthropic/claude-3-5-haiku": None}


@pytest.mark.parametrize(("params", "param"), [
    ({"since": "2025-03-01T10:00:00Z", "until": "2025-03-01T10:00:00Z"}, "since"),
    ({"since": "2025-03-01T00:00:00Z", "until": "2025-03-02T00:00:00Z", "bucket_seconds": 1}, "bucket_seconds"),
])
def test_stats_endpoint_rejects_bad_windows(gateway_factory: GatewayFactory, params: dict[str, str | int],
                                            param: str) -> None:
    response = gateway_factory().http.get("/v1/activity/stats", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_page_and_assets_are_served_without_the_key(gateway_factory: GatewayFactory) -> None:
    gw = gateway_factory(master_key="mk-dashboard")
    page = gw.http.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'src="dashboard/static/app.js"' in page.text
    script = gw.http.get("/dashboard/static/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert gw.http.get("/dashboard/static/style.css").headers["content-type"].startswith("text/css")
    assert gw.http.get("/dashboard/static/index.html").status_code == 404
    assert gw.http.get("/dashboard/static/..%2Fapp.py").status_code == 404
    assert gw.http.get("/v1/activity").status_code == 401, "data stays behind the key"
