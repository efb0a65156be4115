"""The dashboard at 800 px wide in headless Chromium: no page overflow, the error under a failed
row's status, endpoint and stream columns, costs as money, and auto-refresh that keeps filters.

Records are written straight to the database. The page is opened with ``?refresh=1`` (auto-refresh
every second). A full-page screenshot is saved as ``tests/artifacts/dashboard-800px.png``.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.store.db import create_engine_for
from tests.conftest import RunningGateway
from tests.dashboard.cdp import Browser, Page
from tests.dashboard.seed import cost_metrics, insert, record_row

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DASH = "\u2014"
ERROR = ("The upstream answered 500 (internal server error) after 3 attempts; "
         "the last one said: the model is overloaded, try again later")
ROWS_JS = "[...document.querySelectorAll('#requests tbody tr')].map(r => [...r.cells].map(c => c.textContent))"
SOURCE, ENDPOINT, STREAM, COST = 0, 3, 4, 10
ERROR_JS = """(() => {
  const error = document.querySelector('#requests tbody tr .row-error');
  const box = error.getBoundingClientRect(), wrap = document.querySelector('.table-wrap').getBoundingClientRect();
  return {text: error.textContent, title: error.title, truncated: error.scrollWidth > error.clientWidth,
          ellipsis: getComputedStyle(error).textOverflow, shown: box.width > 0 && box.height > 0
          && box.left >= wrap.left && box.right <= wrap.right && getComputedStyle(error).visibility === 'visible'};
})()"""
SOURCES_JS = "[...document.querySelectorAll('#requests tbody tr')].map(r => r.cells[0].textContent)"
IDLE_JS = "document.body.dataset.table === 'ready' && document.body.dataset.charts === 'ready'"
HIDE_JS = ("Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});"
           "document.dispatchEvent(new Event('visibilitychange'))")
SHOW_JS = "delete document.visibilityState; document.dispatchEvent(new Event('visibilitychange'))"


def priced(cost: str) -> dict[str, Any]:
    """Columns of a record priced at ``cost`` USD: the ``cost`` column and the ``COST`` metric."""
    return {"cost": Decimal(cost), "input_cost": Decimal(cost), "output_cost": Decimal(0),
            "metrics": cost_metrics(cost, input_cost=cost)}


def seed(engine_url: str, now: dt.datetime) -> None:
    """Newest first: priced sub-cent, priced large (embeddings), free streamed, failed, unpriced."""
    specs: list[dict[str, Any]] = [
        {"model": "m-small", **priced("0.000343950000")},
        {"model": "m-big", "endpoint": "embeddings", **priced("1234.567")},
        {"model": "m-zero", "first_token_ms": 120.0, **priced("0.000000000000")},
        {"model": "m-failed", "status": "FAILED", "error_type": "upstream_error", "error_message": ERROR},
        {"model": "m-unpriced"},
    ]
    unpriced = {"cost": None, "input_cost": None, "output_cost": None}
    insert_now(engine_url, [record_row(n, now - dt.timedelta(seconds=n), metadata={"source": spec["model"]},
                                       **{**unpriced, **spec}) for n, spec in enumerate(specs)])


def insert_now(engine_url: str, rows: list[dict[str, Any]]) -> None:
    engine = create_engine_for(engine_url)
    try:
        insert(engine, rows)
    finally:
        engine.dispose()


def rows_of(page: Page) -> list[list[str]]:
    rows: list[list[str]] = page.evaluate(ROWS_JS)
    return rows


def check_layout_and_rows(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no page-wide overflow"
    assert page.evaluate("document.body.scrollWidth <= window.innerWidth")
    rows = rows_of(page)
    assert [row[SOURCE] for row in rows] == ["m-small", "m-big", "m-zero", "m-failed", "m-unpriced"]
    assert [(row[ENDPOINT], row[STREAM]) for row in rows] == [
        ("chat.completions", "no"), ("embeddings", "no"), ("chat.completions", "yes"),
        ("chat.completions", "no"), ("chat.completions", "no")]
    assert [row[COST] for row in rows] == ["$0.000344", "$1,234.57", "$0.00", DASH, DASH]
    error = page.evaluate(ERROR_JS)
    assert error == {"text": ERROR, "title": "upstream_error: " + ERROR, "truncated": True,
                     "ellipsis": "ellipsis", "shown": True}


def check_money_elsewhere(page: Page) -> None:
    models = page.evaluate("Object.fromEntries([...document.querySelectorAll('#chart-models tbody tr')]"
                           ".map(r => [r.cells[0].textContent, r.cells[5].textContent]))")
    assert models == {"m-small": "$0.000344", "m-big": "$1,234.57", "m-zero": "$0.00", "m-failed": DASH,
                      "m-unpriced": DASH}
    page.evaluate("document.querySelector('#requests tbody tr').click()")
    page.wait_for("document.getElementById('detail').open && document.body.dataset.detail === 'ready'")
    panel = page.evaluate("document.getElementById('panel').innerText")
    assert "$0.000344" in panel and "$0.000344 / $0.00" in panel, "cost, then input / output cost"
    page.evaluate("document.getElementById('detail-close').click()")


def late(n: int, name: str, status: str, now: dt.datetime) -> dict[str, Any]:
    return record_row(n, now + dt.timedelta(seconds=n), model=name, status=status, metadata={"source": name})


def wait_for_source(page: Page, name: str) -> list[str]:
    """The sources shown once ``name`` is among them (bounded poll)."""
    sources: list[str] = page.wait_for(f"(() => {{ const s = {SOURCES_JS}; return s.includes('{name}') && s; }})()")
    return sources


def check_auto_refresh_keeps_filters(page: Page, gw: RunningGateway, now: dt.datetime) -> None:
    """Records written after load: nothing reloads while a request is open; once it is closed,
    the newest page reloads with the applied filter (SUCCESS), so only the late success appears."""
    page.evaluate("document.getElementById('f-status').value = 'SUCCESS';"
                  "document.querySelector('#filters button[type=submit]').click()")
    page.wait_for("document.querySelectorAll('#requests tbody tr').length === 4")
    page.evaluate("document.querySelector('#requests tbody tr').click()")
    page.wait_for("document.getElementById('detail').open && document.body.dataset.detail === 'ready'")
    page.wait_for(IDLE_JS)
    insert_now(gw.settings.database_url, [late(10, "late-failed", "FAILED", now),
                                          late(11, "late-success", "SUCCESS", now)])
    time.sleep(2.2)
    assert len(rows_of(page)) == 4, "no refresh while a request is open"
    page.evaluate("document.getElementById('detail-close').click()")
    assert page.evaluate("document.getElementById('auto-refresh').checked")
    assert wait_for_source(page, "late-success") == ["late-success", "m-small", "m-big", "m-zero", "m-unpriced"]
    assert page.evaluate("document.getElementById('f-status').value") == "SUCCESS"
    assert page.evaluate("document.getElementById('page-label').textContent") == "Page 1"


def check_auto_refresh_stops_while_hidden(page: Page, gw: RunningGateway, now: dt.datetime) -> None:
    page.evaluate(HIDE_JS)
    page.wait_for(IDLE_JS)
    insert_now(gw.settings.database_url, [late(12, "while-hidden", "SUCCESS", now)])
    time.sleep(2.2)
    assert "while-hidden" not in page.evaluate(SOURCES_JS), "no refresh while the tab is hidden"
    page.evaluate(SHOW_JS)
    assert wait_for_source(page, "while-hidden")[0] == "while-hidden"


def test_dashboard_at_800px(browser: Browser, gateway: RunningGateway) -> None:
    now = dt.datetime.now(dt.UTC)
    seed(gateway.settings.database_url, now)
    page = browser.new_page(width=800, height=900)
    page.goto(gateway.url + "/dashboard?refresh=1")
    page.wait_for("document.querySelectorAll('#requests tbody tr').length === 5"
                  " && document.body.dataset.charts === 'ready'")
    assert page.evaluate("document.getElementById('refresh-every').textContent") == "1 s"
    check_layout_and_rows(page)
    ARTIFACTS.mkdir(exist_ok=True)
    print("dashboard 800 px screenshot:", page.screenshot(ARTIFACTS / "dashboard-800px.png"))
    check_money_elsewhere(page)
    check_auto_refresh_keeps_filters(page, gateway, now)
    check_auto_refresh_stops_while_hidden(page, gateway, now)
