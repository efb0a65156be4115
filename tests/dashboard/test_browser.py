"""The dashboard in headless Chromium, against a gateway whose records come from real requests.

Skipped only where Chromium is not installed; CI installs it so these always run there.
Screenshots are written to the test's temporary directory and their paths printed.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.core.ids import Snowflake
from gateway.store.db import create_engine_for
from tests.conftest import GatewayFactory, RunningGateway
from tests.dashboard.cdp import Browser, Page
from tests.dashboard.seed import cost_metrics, insert, record_row
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, openai_error

pytestmark = pytest.mark.browser

MASTER_KEY = "mk-browser-test"
ROWS_JS = "[...document.querySelectorAll('#requests tbody tr')].map(r => [...r.cells].map(c => c.textContent))"
IDS_JS = "[...document.querySelectorAll('#requests tbody tr')].map(r => r.dataset.id)"
PILLS_JS = "[...document.querySelectorAll('#requests tbody tr .pill')].map(p => p.textContent)"
COST_TITLES_JS = "[...document.querySelectorAll('#requests tbody tr')].map(r => r.cells[10].firstChild.title)"
PANEL_JS = "document.getElementById('panel').innerText"
SOURCE, PROVIDER, MODEL, ENDPOINT, STREAM, STATUS, TTFT, TOKENS, COST, HTTP = 0, 1, 2, 3, 4, 6, 8, 9, 10, 12
DASH = "\u2014"


def chat(gw: RunningGateway, model: str, headers: dict[str, str], **extra: Any) -> int:
    body = {"model": model, "messages": [{"role": "user", "content": "hello dashboard"}], **extra}
    return gw.http.post("/v1/chat/completions", json=body, headers=headers).status_code


def seed(gw: RunningGateway, fake: FakeOpenAI) -> None:
    """Three plain successes, a streamed one, a cost-carrying row written directly, and an
    upstream failure, newest last."""
    auth = {"authorization": f"Bearer {MASTER_KEY}"}
    tagged = {**auth, "x-client-source": "browser-test"}
    assert [chat(gw, "openai/gpt-4o-mini", tagged) for _ in range(3)] == [200, 200, 200]
    assert chat(gw, "openai/gpt-4o", auth, stream=True, stream_options={"include_usage": True}) == 200
    engine = create_engine_for(gw.settings.database_url)
    try:
        row = record_row(0, dt.datetime.now(dt.UTC), model="openai/gpt-4.1", metrics=cost_metrics("0.0042"),
                         metadata={"source": "priced"})
        insert(engine, [{**row, "id": Snowflake().next_id(), "request_id": "priced-1"}])
    finally:
        engine.dispose()
    fake.enqueue(openai_error(500, "boom", "server_error"), openai_error(500, "boom", "server_error"))
    assert chat(gw, "openai/gpt-4o-mini", tagged) == 502
    gw.flush()


def log_in(page: Page) -> None:
    page.wait_for("!document.getElementById('login').hidden")
    page.evaluate("document.getElementById('login-key').focus()")
    page.type_text("not-the-key")
    page.evaluate("document.querySelector('#login-form button').click()")
    assert page.wait_for("document.getElementById('login-error').textContent") == "That key was not accepted."
    page.type_text(MASTER_KEY)
    page.press("Enter", "Enter", 13, "\r")
    page.wait_for("!document.getElementById('app').hidden && document.body.dataset.table === 'ready'")


def wait_for_rows(page: Page, count: int) -> list[list[str]]:
    page.wait_for(f"document.querySelectorAll('#requests tbody tr').length === {count}")
    rows: list[list[str]] = page.evaluate(ROWS_JS)
    return rows


def check_table(page: Page, records: list[dict[str, Any]]) -> None:
    rows = wait_for_rows(page, 6)
    assert page.evaluate(IDS_JS) == [r["id"] for r in records], "newest first, as the API lists them"
    assert sorted(page.evaluate(PILLS_JS)) == ["FAILED"] + ["SUCCESS"] * 5
    failed_record = next(r for r in records if r["status"] == "FAILED")
    failed = next(row for row in rows if row[STATUS].startswith("FAILED"))
    assert (failed[SOURCE], failed[PROVIDER], failed[MODEL], failed[HTTP], failed[COST]) == (
        "browser-test", "openai", "openai/gpt-4o-mini", "502", DASH)
    assert failed[STATUS] == "FAILED" + failed_record["error_message"], "the error shows under the pill"
    priced = rows[records.index(next(r for r in records if r["request_id"] == "priced-1"))]
    assert (priced[SOURCE], priced[COST], priced[MODEL]) == ("priced", "$0.0042", "openai/gpt-4.1")
    streamed = next(row for row in rows if row[MODEL] == "openai/gpt-4o")
    assert streamed[SOURCE].startswith("python-httpx/"), "no source header: the user agent is shown"
    assert (streamed[ENDPOINT], streamed[STREAM]) == ("chat.completions", "yes")
    streamed_record = next(r for r in records if r["model_requested"] == "openai/gpt-4o")
    assert streamed_record["cost"] is not None, "the fake's gpt-4o answer is priced"
    titles = page.evaluate(COST_TITLES_JS)
    assert titles[records.index(streamed_record)] == streamed_record["cost"] + " USD", "exact cost in the title"
    assert streamed[TTFT].endswith("ms") and streamed[COST].startswith("$")
    assert sum(row[TOKENS] == "11 / 7" for row in rows) == 3


def cost_by_model(records: list[dict[str, Any]]) -> dict[str, Decimal | None]:
    """Each model's summed ``COST`` metric (``None`` when none of its records was priced)."""
    totals: dict[str, Decimal | None] = {}
    for record in records:
        cost = next((Decimal(m["value"]) for m in record["metrics"] if m["name"] == "COST"), None)
        total = totals.get(record["model_requested"])
        totals[record["model_requested"]] = total if cost is None else (total or Decimal(0)) + cost
    return totals


def shown_cost(text: str, title: str) -> Decimal | None:
    """The exact amount behind a money cell (its title), checking the cell's text agrees."""
    if title == "Not priced":
        assert text == DASH
        return None
    assert text.startswith("$") and title.endswith(" USD")
    return Decimal(title.removesuffix(" USD"))


def check_charts(page: Page, records: list[dict[str, Any]]) -> None:
    page.wait_for("document.body.dataset.charts === 'ready'")
    assert page.evaluate("document.querySelectorAll('#chart-requests rect.bar').length") >= 2
    assert page.evaluate("document.querySelectorAll('#chart-requests rect.error').length") >= 1
    assert page.evaluate("document.querySelectorAll('#chart-latency .line, #chart-latency .dot').length") >= 3
    models = page.evaluate("[...document.querySelectorAll('#chart-models tbody tr')].map(r => "
                           "[r.cells[0].textContent, r.cells[5].textContent, r.cells[5].firstChild.title])")
    assert [m for m, _, _ in sorted(models)] == ["openai/gpt-4.1", "openai/gpt-4o", "openai/gpt-4o-mini"]
    assert {model: shown_cost(text, title) for model, text, title in models} == cost_by_model(records)


def check_failed_detail(page: Page, record: dict[str, Any], shots: Path) -> None:
    page.evaluate("document.getElementById('f-status').value = 'FAILED';"
                  "document.querySelector('#filters button[type=submit]').click()")
    wait_for_rows(page, 1)
    assert page.evaluate(PILLS_JS) == ["FAILED"]
    page.evaluate("document.querySelector('#requests tbody tr').focus()")
    page.press("Enter", "Enter", 13)
    page.wait_for("document.getElementById('detail').open && document.body.dataset.detail === 'ready'")
    metadata = page.evaluate(PANEL_JS)
    assert "upstream_error" in metadata and "boom" in metadata and record["request_id"] in metadata
    print("dashboard detail screenshot:", page.screenshot(shots / "dashboard-detail.png"))
    page.evaluate("document.getElementById('tab-metadata').focus()")
    page.press("ArrowRight", "ArrowRight", 39)
    assert "Body capture is off" in page.evaluate(PANEL_JS)
    page.evaluate("document.getElementById('tab-metrics').click()")
    metrics = page.evaluate("[...document.querySelectorAll('#panel tbody tr')].map(r => r.cells[0].textContent)")
    assert metrics == [m["name"] for m in record["metrics"]]
    page.evaluate("document.getElementById('tab-attempts').click()")
    attempts = page.evaluate("document.querySelectorAll('#panel tbody tr').length")
    assert attempts == len(record["attempts"])
    if not record["attempts"]:
        assert "No upstream attempts" in page.evaluate(PANEL_JS)
    print("dashboard attempts screenshot:", page.screenshot(shots / "dashboard-attempts.png"))


def test_activity_page_behind_the_master_key(browser: Browser, gateway_factory: GatewayFactory,
                                            fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    gw = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                         master_key=MASTER_KEY, max_retries=1, retry_base_delay=0.01)
    seed(gw, fake_openai)
    records = gw.records()
    page = browser.new_page()
    page.goto(gw.url + "/dashboard")
    log_in(page)
    assert page.evaluate(f"sessionStorage.getItem('gateway.masterKey') === {json.dumps(MASTER_KEY)}")
    check_table(page, records)
    check_charts(page, records)
    print("dashboard screenshot:", page.screenshot(tmp_path / "dashboard.png"))
    failed = next(r for r in records if r["status"] == "FAILED")
    detail = gw.http.get(f"/v1/activity/{failed['id']}", headers={"authorization": f"Bearer {MASTER_KEY}"}).json()
    check_failed_detail(page, detail, tmp_path)


def test_no_login_without_a_master_key_and_keyset_paging(browser: Browser, gateway: RunningGateway) -> None:
    engine = create_engine_for(gateway.settings.database_url)
    try:
        old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        insert(engine, [record_row(n, old, metadata={"source": f"old-{n}"}) for n in range(55)])
    finally:
        engine.dispose()
    page = browser.new_page()
    page.goto(gateway.url + "/dashboard?refresh=1")
    first = wait_for_rows(page, 50)
    assert page.evaluate("document.getElementById('login').hidden && document.getElementById('logout').hidden")
    assert first[0][SOURCE] == "old-54" and first[-1][SOURCE] == "old-5"
    page.evaluate("document.getElementById('next').click()")
    second = wait_for_rows(page, 5)
    assert [row[SOURCE] for row in second] == [f"old-{n}" for n in range(4, -1, -1)]
    assert page.evaluate("document.getElementById('next').disabled && document.getElementById('page-label')"
                         ".textContent === 'Page 2'")
    time.sleep(2.2)
    assert [row[SOURCE] for row in wait_for_rows(page, 5)] == [f"old-{n}" for n in range(4, -1, -1)], (
        "auto-refresh (every second here) leaves an older page alone")
    page.evaluate("document.getElementById('newest').click()")
    assert wait_for_rows(page, 50)[0][SOURCE] == "old-54"
