"""The records database goes away under traffic and comes back: requests keep being
served (never a 401 or 500), ``/readyz`` says ``degraded``, and every record ends up in
``request_records`` exactly once, through the writer's buffer and its spool.

The outage is a ``DatabaseProxy`` between the gateway and the shared PostgreSQL server,
switched to reset or refuse connections: deterministic, and nothing else that uses the
server is disturbed.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI
from tests.faults.db_proxy import DatabaseProxy

pytestmark = pytest.mark.postgres

BODY: dict[str, Any] = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
MASTER = "gw-master-outage"


@pytest.fixture
def proxy() -> Iterator[DatabaseProxy]:
    db = DatabaseProxy().start()
    yield db
    db.stop()


def start_gateway(gateway_factory: GatewayFactory, fake: FakeOpenAI, database_url: str, spool: Path,
                  **settings: Any) -> RunningGateway:
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"},
                           database_url=database_url, spool_dir=spool, master_key=MASTER, **settings)


def rows_by_request_id(postgres_url: str) -> Counter[str]:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            return Counter(connection.execute(sa.text("SELECT request_id FROM request_records")).scalars())
    finally:
        engine.dispose()


class Traffic:
    """``threads`` clients sending chat requests (``stream`` every third) until stopped;
    every answer's status is kept by request id."""

    def __init__(self, gw: RunningGateway, key: str, threads: int = 4) -> None:
        self._gw = gw
        self._key = key
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next = 0
        self.statuses: dict[str, int] = {}
        self._pool = ThreadPoolExecutor(threads)
        self._futures = [self._pool.submit(self._run) for _ in range(threads)]

    def _run(self) -> None:
        with httpx.Client(base_url=self._gw.url, timeout=10,
                          headers={"authorization": f"Bearer {self._key}"}) as client:
            while not self._stop.is_set():
                with self._lock:
                    number, self._next = self._next, self._next + 1
                request_id = f"out-{number}"
                stream = number % 3 == 0
                response = client.post("/v1/chat/completions", json={**BODY, "stream": stream},
                                       headers={"x-request-id": request_id})
                if stream and response.status_code == 200:
                    assert response.text.endswith("data: [DONE]\n\n")
                with self._lock:
                    self.statuses[request_id] = response.status_code

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.statuses) < count:
            assert time.monotonic() < deadline, f"only {len(self.statuses)} of {count} requests answered"
            for future in self._futures:
                if future.done():
                    future.result()
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        for future in self._futures:
            future.result(timeout=30)
        self._pool.shutdown()


def flush_until_written(gw: RunningGateway, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            gw.flush()
            if gw.app.state.writer.stats.queue_depth == 0 and not list(Path(gw.settings.spool_dir).glob("*.jsonl")):
                return
        except TimeoutError:
            pass
        assert time.monotonic() < deadline, f"records still waiting: {gw.app.state.writer.stats}"
        time.sleep(0.05)


def test_no_record_is_lost_or_duplicated_across_a_database_outage(
        gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, postgres_url: str, proxy: DatabaseProxy,
        tmp_path: Path) -> None:
    gw = start_gateway(gateway_factory, fake_openai, proxy.url(postgres_url), tmp_path / "spool",
                       record_queue_size=40, record_batch_size=16)
    admin = {"authorization": f"Bearer {MASTER}"}
    key = gw.http.post("/v1/keys", json={"name": "outage"}, headers=admin).json()["key"]
    assert gw.http.get("/readyz").status_code == 200

    traffic = Traffic(gw, key)
    try:
        traffic.wait_for(60)
        proxy.down("reset")
        ready = gw.http.get("/readyz")
        assert ready.status_code == 503
        assert (ready.json()["status"], ready.json()["database"]) == ("degraded", "unreachable")
        traffic.wait_for(160)
        proxy.down("refuse")
        traffic.wait_for(330)
        assert gw.http.get("/readyz").status_code == 503
        proxy.up()
        traffic.wait_for(460)
    finally:
        traffic.stop()

    assert set(traffic.statuses.values()) == {200}, Counter(traffic.statuses.values())
    flush_until_written(gw)
    assert gw.http.get("/readyz").status_code == 200
    stats = gw.app.state.writer.stats
    assert stats.spooled > 0 and stats.replayed == stats.spooled, stats
    assert (stats.dropped, stats.rejected, stats.queue_depth) == (0, 0, 0), stats
    rows = rows_by_request_id(postgres_url)
    sent = set(traffic.statuses)
    assert len(sent) >= 460
    assert {r for r in rows if r.startswith("out-")} == sent, "every answered request has a row"
    assert max(rows.values()) == 1, "no row is written twice"


def test_shutdown_with_the_database_down_spools_and_the_next_gateway_replays(
        gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, postgres_url: str, proxy: DatabaseProxy,
        tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    database_url = proxy.url(postgres_url)
    first = start_gateway(gateway_factory, fake_openai, database_url, spool)
    first.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "before", **auth()})
    first.flush()
    proxy.down("refuse")
    for n in range(60):
        response = first.http.post("/v1/chat/completions", json={**BODY, "stream": n % 2 == 0},
                                   headers={"x-request-id": f"down-{n}", **auth()})
        assert response.status_code == 200
    writer = first.app.state.writer
    started = time.monotonic()
    first.stop()
    assert time.monotonic() - started < 5, "shutdown does not wait on the database"
    assert (writer.stats.spooled, writer.stats.dropped, writer.stats.written) == (60, 0, 1)
    assert list(spool.glob("*.jsonl"))
    assert rows_by_request_id(postgres_url) == Counter({"before": 1})

    proxy.up()
    second = start_gateway(gateway_factory, fake_openai, database_url, spool)
    deadline = time.monotonic() + 20
    while second.app.state.writer.stats.replayed < 60:
        assert time.monotonic() < deadline, second.app.state.writer.stats
        time.sleep(0.02)
    rows = rows_by_request_id(postgres_url)
    assert rows == Counter({"before": 1, **{f"down-{n}": 1 for n in range(60)}})
    assert list(spool.iterdir()) == []
    statuses = {r["request_id"]: r["status"] for r in second.records(limit=100)}
    assert statuses["down-0"] == "SUCCESS" and len(statuses) == 61


def auth() -> dict[str, str]:
    return {"authorization": f"Bearer {MASTER}"}
