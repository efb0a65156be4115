"""SIGKILL of a gateway under load, with the database up and with it cut off: after a
restart on the same data folder, every answer the client fully received has exactly one
record, and every stream that was in flight is there as CANCELLED.

The gateway runs as a real process (``uvicorn --factory``) against its own PostgreSQL
database, through a ``DatabaseProxy`` that can cut it off, with a fake OpenAI upstream
whose "slow" streams last several seconds, so some are in flight at the kill.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.requests import Request

from gateway.store.journal import parse_name
from tests.durability.gateway_process import MASTER, GatewayProcess, Outcomes, Traffic
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, text_stream
from tests.fakes.server import Scripted
from tests.faults.db_proxy import DatabaseProxy

pytestmark = pytest.mark.postgres


class SlowStreams(FakeOpenAI):
    """The fake OpenAI API, where a stream asked for "slow" sends 60 words 0.1 s apart."""

    def _chat(self, request: Request, body: Any) -> Scripted:
        if body.get("stream") and body["messages"][-1]["content"] == "slow":
            return Scripted(stream=text_stream([f"w{i} " for i in range(60)]), media_type="text/event-stream",
                            gap=0.1)
        return super()._chat(request, body)


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    fake = SlowStreams().start()
    yield fake
    fake.stop()


@pytest.fixture
def proxy() -> Iterator[DatabaseProxy]:
    db = DatabaseProxy().start()
    yield db
    db.stop()


def gateway_env(database_url: str, upstream: FakeOpenAI, data: Path, **extra: str) -> dict[str, str]:
    return {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_SPOOL_DIR": str(data / "spool"),
            "GATEWAY_JOURNAL_DIR": str(data / "journal"), "GATEWAY_MASTER_KEY": MASTER,
            "GATEWAY_MAX_RETRIES": "0", "OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": upstream.url + "/v1", **extra}


def records(database_url: str) -> tuple[Counter[str], dict[str, str]]:
    """How many rows each request id has, and the status of each."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT request_id, status FROM request_records")).all()
    finally:
        engine.dispose()
    return Counter(r.request_id for r in rows), {r.request_id: r.status for r in rows}


def load_until_killed(gateway: GatewayProcess, seconds: float, during: Any = None) -> Outcomes:
    traffic = Traffic(gateway.url)
    deadline = time.monotonic() + 15
    while traffic.answered() < 20:
        assert time.monotonic() < deadline, gateway.tail()
        time.sleep(0.05)
    if during is not None:
        during()
    time.sleep(seconds)
    gateway.kill()
    return traffic.stop()


def dead_journals_left(data: Path) -> int:
    tokens = {parsed[0] for p in (data / "journal").iterdir() if (parsed := parse_name(p.name))}
    return len(tokens) - 1


def check_after_restart(database_url: str, outcomes: Outcomes, timeout: float = 25.0) -> None:
    expected = set(outcomes.complete) | outcomes.started
    deadline = time.monotonic() + timeout
    while True:
        counts, statuses = records(database_url)
        if expected <= set(counts) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    missing = expected - set(counts)
    assert not missing, f"{len(missing)} of {len(expected)} answered or started requests have no record"
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
    assert {statuses[r] for r in outcomes.complete} == {"SUCCESS"}
    assert outcomes.started, "some streams were in flight at the kill"
    assert {statuses[r] for r in outcomes.started} == {"CANCELLED"}
    assert any(s for s in outcomes.complete.values()) and not all(outcomes.complete.values())


def test_sigkill_under_load_loses_no_answered_record(postgres_url: str, upstream: FakeOpenAI,
                                                     tmp_path: Path) -> None:
    first = GatewayProcess(gateway_env(postgres_url, upstream, tmp_path), tmp_path / "gateway.log")
    outcomes = load_until_killed(first, seconds=1.5)
    assert len(outcomes.complete) > 50
    second = GatewayProcess(gateway_env(postgres_url, upstream, tmp_path), tmp_path / "gateway.log")
    try:
        check_after_restart(postgres_url, outcomes)
        assert dead_journals_left(tmp_path) == 0
    finally:
        second.stop()


def test_sigkill_with_the_database_cut_off_loses_no_answered_record(postgres_url: str, upstream: FakeOpenAI,
                                                                    proxy: DatabaseProxy, tmp_path: Path) -> None:
    through_proxy = proxy.url(postgres_url)
    first = GatewayProcess(gateway_env(through_proxy, upstream, tmp_path), tmp_path / "gateway.log")
    outcomes = load_until_killed(first, seconds=1.5, during=lambda: proxy.down("refuse"))
    counts, _ = records(postgres_url)
    assert len(set(outcomes.complete) - set(counts)) >= 10, "answers given while the database was cut off"
    second = GatewayProcess(gateway_env(through_proxy, upstream, tmp_path, GATEWAY_MIGRATE_ON_START="false"),
                            tmp_path / "gateway.log")
    try:
        deadline = time.monotonic() + 15
        while dead_journals_left(tmp_path):
            assert time.monotonic() < deadline, second.tail()
            time.sleep(0.1)
        proxy.up()
        check_after_restart(postgres_url, outcomes)
    finally:
        second.stop()
