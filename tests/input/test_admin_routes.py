"""The admin routes answer bad input with a 4xx and a database outage with a 503, never a 500;
an unexpected exception is logged once, without the SQL parameters it carries.

Bad input runs on SQLite and PostgreSQL (which refuses NUL in text where SQLite stores it).
The outage is a database that cannot be opened: PostgreSQL on a closed port, SQLite on a
path that is a directory, and (with the PostgreSQL server) a proxy taken down mid-life.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from gateway.store.db import create_engine_for
from gateway.store.dberrors import is_unavailable
from tests.conftest import GatewayFactory, RunningGateway, make_settings
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI
from tests.faults.db_proxy import DatabaseProxy

MASTER = "master-key-for-admin-route-tests"
AUTH = {"authorization": f"Bearer {MASTER}"}
SECRET = "value-bound-to-the-statement"
CLOSED_PORT = "postgresql+psycopg://postgres@127.0.0.1:1/gateway"
ANSWERING_LOGGERS = ("gateway.api", "uvicorn.error")
"""Where a request's failure is logged: by the gateway, and by the server for what reaches it."""
DATABASE_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/activity", None),
    ("GET", "/v1/activity?provider=openai&status=FAILED&cursor=5&since=2025-01-01T00:00:00Z", None),
    ("GET", "/v1/activity/req_0123", None),
    ("GET", "/v1/activity/12345", None),
    ("GET", "/v1/activity/stats", None),
    ("GET", "/v1/usage", None),
    ("GET", "/v1/keys", None),
    ("POST", "/v1/keys", {"name": "during the outage"}),
    ("DELETE", "/v1/keys/key_0123456789ab", None),
]


class Collected(logging.Handler):
    """Every record reaching the root or the ``uvicorn`` logger (which does not propagate), once."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: dict[int, logging.LogRecord] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.records[id(record)] = record

    def settled(self, at_least: int = 1, quiet: float = 0.3, timeout: float = 5.0) -> list[logging.LogRecord]:
        """The records, once there are ``at_least`` and none came for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        count, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if len(self.records) != count:
                count, since = len(self.records), time.monotonic()
            elif count >= at_least and time.monotonic() - since >= quiet:
                break
            time.sleep(0.02)
        return list(self.records.values())


@pytest.fixture
def logged() -> Iterator[Collected]:
    handler = Collected()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def _started(tmp: Path, env: dict[str, str] | None = None, **settings: Any) -> RunningGateway:
    return RunningGateway(make_settings(tmp, env, master_key=MASTER, **settings))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def gw(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    url = request.getfixturevalue("module_postgres_url") if request.param == "postgres" else None
    gateway = _started(tmp_path_factory.mktemp(request.param), **({"database_url": url} if url else {}))
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module", params=["postgres-closed-port", "sqlite-unopenable"])
def down(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    """A gateway whose database cannot be opened (it starts anyway, as after an outage began)."""
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "postgres-closed-port":
        url = CLOSED_PORT
    else:
        (tmp / "a-directory.db").mkdir()
        url = f"sqlite:///{tmp / 'a-directory.db'}"
    fake = FakeOpenAI().start()
    gateway = _started(tmp, {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}, database_url=url,
                       migrate_on_start=False)
    yield gateway
    gateway.stop()
    fake.stop()


def _bad(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.mark.parametrize(("path", "params", "param"), [
    ("/v1/activity", {"provider": "\x00"}, "provider"),
    ("/v1/activity", {"model": "a\x00b"}, "model"),
    ("/v1/activity", {"key_id": "\x00"}, "key_id"),
    ("/v1/activity", {"provider": "open\nai"}, "provider"),
    ("/v1/activity", {"provider": "p" * 65}, "provider"),
    ("/v1/activity", {"model": "m" * 257}, "model"),
    ("/v1/activity", {"status": "SUCCESS\x00"}, "status"),
    ("/v1/activity", {"cursor": str(2**63)}, "cursor"),
    ("/v1/activity", {"cursor": "9" * 40}, "cursor"),
    ("/v1/activity", {"limit": str(2**64)}, "limit"),
    ("/v1/activity", {"since": "1e20"}, "since"),
    ("/v1/activity", {"since": "0"}, "since"),
    ("/v1/activity/stats", {"until": "1700000000"}, "until"),
    ("/v1/usage", {"since": "1700000000.5"}, "since"),
    ("/v1/activity", {"until": "-99999999999999"}, "until"),
    ("/v1/activity/stats", {"since": "10000-01-01T00:00:00"}, "since"),
    ("/v1/activity/stats", {"bucket_seconds": str(2**63)}, "bucket_seconds"),
    ("/v1/usage", {"group_by": "day\x00"}, "group_by"),
    ("/v1/usage", {"group_by": ["day"] * 17}, "group_by"),
    ("/v1/usage", {"since": "0000-12-31T00:00:00"}, "since"),
])
def test_a_query_parameter_out_of_bounds_is_a_400_naming_it(gw: RunningGateway, path: str, params: dict[str, Any],
                                                            param: str) -> None:
    error = _bad(gw.http.get(path, params=params, headers=AUTH), 400)
    assert (error["type"], error["param"].split("[")[0]) == ("invalid_request_error", param)


@pytest.mark.parametrize("request_id", ["%00abc", "a%0Ab", "x" * 129, "9" * 30, "%C3%A9t%C3%A9"])
def test_a_request_id_that_cannot_exist_is_a_404(gw: RunningGateway, request_id: str) -> None:
    error = _bad(gw.http.get(f"/v1/activity/{request_id}", headers=AUTH), 404)
    assert (error["code"], error["param"]) == ("record_not_found", "request_id")


@pytest.mark.parametrize(("path", "params"), [
    ("/v1/activity", {"since": "0001-01-01T00:00:00+14:00", "until": "9999-12-31T23:59:59-14:00"}),
    ("/v1/activity", {"cursor": str(2**63 - 1), "provider": "", "model": "é" * 256}),
    ("/v1/activity/stats", {"since": "0001-01-01T00:00:00", "until": "0001-01-01T01:00:00", "bucket_seconds": "7"}),
    ("/v1/activity/stats", {"since": "9999-12-31T23:00:00", "until": "9999-12-31T23:59:59.999999",
                            "bucket_seconds": "86400"}),
    ("/v1/usage", {"since": "0001-01-01T00:00:00+14:00", "group_by": "day, model"}),
])
def test_extreme_but_valid_parameters_are_answered(gw: RunningGateway, path: str, params: dict[str, Any]) -> None:
    response = gw.http.get(path, params=params, headers=AUTH)
    assert response.status_code == 200, response.text


def test_stats_from_the_first_day_start_their_first_bucket_there(gw: RunningGateway) -> None:
    params = {"since": "0001-01-01T00:00:00", "until": "0001-01-01T00:01:00", "bucket_seconds": "7"}
    buckets = gw.http.get("/v1/activity/stats", params=params, headers=AUTH).json()["buckets"]
    assert buckets[0]["start"] == "0001-01-01T00:00:00+00:00"
    assert len(buckets) == 9


@pytest.mark.parametrize(("method", "path", "body"), DATABASE_ROUTES)
def test_every_database_route_is_a_503_while_the_database_is_down(down: RunningGateway, logged: Collected,
                                                                 method: str, path: str,
                                                                 body: dict[str, Any] | None) -> None:
    response = down.http.request(method, path, json=body, headers=AUTH)
    error = _bad(response, 503)
    assert (error["type"], error["code"]) == ("service_unavailable", "database_unavailable")
    assert response.headers["x-request-id"]
    answered = [r for r in logged.settled() if r.name in ANSWERING_LOGGERS]
    assert [(r.levelno, r.exc_info) for r in answered] == [(logging.WARNING, None)]
    assert response.headers["x-request-id"] in answered[0].getMessage()


def test_routes_that_need_no_database_still_answer_while_it_is_down(down: RunningGateway) -> None:
    assert down.http.get("/metrics", headers=AUTH).status_code == 200
    verified = down.http.post("/v1/credentials/verify", json={"provider": "openai"}, headers=AUTH)
    assert (verified.status_code, verified.json()["valid"]) == (200, True)
    assert down.http.get("/readyz").status_code == 503


@pytest.mark.postgres
def test_a_database_that_goes_away_is_a_503_until_it_is_back(gateway_factory: GatewayFactory, postgres_url: str,
                                                            ) -> None:
    proxy = DatabaseProxy().start()
    try:
        gw = gateway_factory(master_key=MASTER, database_url=proxy.url(postgres_url))
        key = gw.http.post("/v1/keys", json={"name": "before"}, headers=AUTH).json()["id"]
        for mode in ("reset", "refuse"):
            proxy.down(mode)
            for method, path, body in DATABASE_ROUTES:
                response = gw.http.request(method, path, json=body, headers=AUTH)
                assert (response.status_code, mode) == (503, mode), f"{method} {path}: {response.text}"
            proxy.up()
            assert gw.http.get("/v1/keys", headers=AUTH).json()["data"][0]["id"] == key
    finally:
        proxy.stop()


def test_an_unexpected_error_is_logged_once_without_its_sql_parameters(
        gateway_factory: GatewayFactory, logged: Collected, monkeypatch: pytest.MonkeyPatch) -> None:
    gw = gateway_factory(master_key=MASTER)

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise sa_exc.DataError("SELECT * FROM request_records WHERE provider = %(provider)s", {"provider": SECRET},
                               ValueError("a driver refused the value"))

    monkeypatch.setattr(gw.app.state.activity, "list_records", broken)
    response = gw.http.get("/v1/activity", headers=AUTH)
    error = _bad(response, 500)
    assert error["code"] == "internal_error"
    request_id = response.headers["x-request-id"]
    assert gw.http.get("/healthz").status_code == 200
    tracebacks = [r for r in logged.settled() if r.exc_info is not None]
    assert len(tracebacks) == 1, [r.getMessage() for r in tracebacks]
    text = logging.Formatter().format(tracebacks[0])
    assert request_id in text and "DataError" in text and "a driver refused the value" in text
    assert SECRET not in text and "[parameters:" not in text


def test_engines_keep_bound_parameters_out_of_their_errors(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        with pytest.raises(sa_exc.OperationalError) as raised, engine.connect() as connection:
            connection.execute(sa.text("SELECT * FROM no_such_table WHERE a = :a"), {"a": SECRET})
    finally:
        engine.dispose()
    assert SECRET not in str(raised.value)
    assert not is_unavailable(raised.value), "a missing table is a bug, not an outage"


def _wrapped(orig: BaseException, kind: type[sa_exc.DBAPIError] = sa_exc.OperationalError) -> sa_exc.DBAPIError:
    return kind("SELECT 1", {}, orig)


def _sqlite_error(path: str, sql: str) -> sqlite3.Error:
    try:
        sqlite3.connect(path).execute(sql)
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("no error")


@pytest.mark.parametrize(("error", "unavailable"), [
    (_wrapped(psycopg.OperationalError("connection refused")), True),
    (_wrapped(psycopg.InterfaceError("the connection is closed"), sa_exc.InterfaceError), True),
    (psycopg.OperationalError("raised outside SQLAlchemy"), True),
    (sa_exc.DisconnectionError("gone"), True),
    (sa_exc.TimeoutError("QueuePool limit reached"), True),
    (_wrapped(_sqlite_error("/", "SELECT 1")), True),
    (_wrapped(_sqlite_error(":memory:", "SELECT * FROM missing")), False),
    (_wrapped(psycopg.DataError("NUL in text"), sa_exc.DataError), False),
    (_wrapped(psycopg.errors.UniqueViolation("duplicate"), sa_exc.IntegrityError), False),
    (ValueError("not a database error"), False),
])
def test_what_counts_as_the_database_being_unavailable(error: BaseException, unavailable: bool) -> None:
    assert is_unavailable(error) is unavailable
