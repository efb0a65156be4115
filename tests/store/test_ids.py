"""Record ids: unique across processes with no setting (machine id leases), and a key
conflict is never a silently dropped row: the same record again is recognised, a
different record is written under a new id, counted and logged."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from gateway.core import ids
from gateway.core.ids import Snowflake
from gateway.observability import GatewayMetrics
from gateway.store.db import create_engine_for, project_root, run_migrations
from gateway.store.leases import MachineLease
from gateway.store.models import MACHINE_LEASES
from gateway.store.writer import RecordWriter, insert_rows, rows_of
from tests.durability.records import make_record

FROZEN = 1_750_000_000.123


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


def stored(engine: Engine) -> dict[str, int]:
    """Record id by request id; fails on a request id stored twice."""
    with engine.connect() as connection:
        found = connection.execute(sa.text("SELECT request_id, id FROM request_records")).all()
    by_request = {r.request_id: r.id for r in found}
    assert len(by_request) == len(found), "a record is stored twice"
    return by_request


def attempt_owners(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(sa.text("SELECT record_id FROM request_attempts ORDER BY id")).scalars())


def test_a_generator_never_goes_back_before_its_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: FROZEN)
    now_ms = int(FROZEN * 1000) - 1_704_067_200_000
    ahead = Snowflake(5, floor_ms=now_ms + 50)
    assert ahead.next_id() >> 22 == now_ms + 51, "the floor's own millisecond may be used by the previous holder"
    generator = Snowflake(7)
    first = generator.next_id()
    generator.rebind(9, floor_ms=now_ms + 10)
    second = generator.next_id()
    assert second > first and (second >> 12) & 0x3FF == 9 and second >> 22 == now_ms + 11
    when = dt.datetime(2025, 5, 1, 8, 30, 0, 250_000, tzinfo=dt.UTC)
    assert generator.at(when) >> 22 == ids.id_floor(when) >> 22 and (generator.at(when) >> 12) & 0x3FF == 9


def test_the_same_record_twice_is_a_duplicate(engine: Engine) -> None:
    record = make_record(1)
    assert insert_rows(engine, [rows_of(record)]).written == 1
    again = insert_rows(engine, [rows_of(record)])
    assert (again.written, again.duplicates, again.reminted) == (0, 1, 0)
    assert stored(engine) == {"jr-1": record.id} and len(attempt_owners(engine)) == 2


def test_a_different_record_with_a_taken_id_is_written_under_a_new_one(engine: Engine,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    first = make_record(2)
    other = make_record(3, id=first.id)
    insert_rows(engine, [rows_of(first)])
    with caplog.at_level(logging.WARNING, logger="gateway.store"):
        outcome = insert_rows(engine, [rows_of(other)], remint=Snowflake(77).at)
    assert (outcome.written, outcome.duplicates, outcome.reminted) == (1, 0, 1)
    ids_by_request = stored(engine)
    new_id = ids_by_request["jr-3"]
    assert ids_by_request["jr-2"] == first.id and new_id != first.id
    assert new_id >> 22 == ids.id_floor(other.created_at) >> 22 and (new_id >> 12) & 0x3FF == 77
    assert attempt_owners(engine) == [new_id, new_id], "its attempts follow it"
    assert any("already taken by a different record" in r.getMessage() for r in caplog.records)
    replay = insert_rows(engine, [rows_of(other), rows_of(first)])
    assert (replay.written, replay.duplicates) == (0, 2), "a replay finds it under its new id"
    both = insert_rows(engine, [rows_of(make_record(4, id=7)), rows_of(make_record(5, id=7))])
    assert (both.written, both.reminted) == (2, 1), "colliding within one batch too"
    assert len(stored(engine)) == 4


async def test_writers_with_colliding_machine_bits_keep_every_record(engine: Engine,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: FROZEN)
    one, two = Snowflake(1000), Snowflake(2024)
    minted = [(one.next_id(), two.next_id()) for _ in range(300)]
    assert all(a == b for a, b in minted), "same millisecond, same machine bits: the same ids"
    metrics = GatewayMetrics()
    writers = [RecordWriter(engine, batch_size=64, remint=generator.at, on_id_conflicts=metrics.id_conflicts.inc)
               for generator in (one, two)]
    for n, (a, b) in enumerate(minted):
        writers[0].submit(make_record(n, id=a, request_id=f"a-{n}"))
        writers[1].submit(make_record(n, id=b, request_id=f"b-{n}"))
    assert all(await asyncio.gather(*(w.flush() for w in writers)))
    by_request = stored(engine)
    assert set(by_request) == {f"{side}-{n}" for side in "ab" for n in range(300)}
    assert len(set(by_request.values())) == 600, "every record has its own id"
    conflicts = sum(w.stats.id_conflicts for w in writers)
    assert conflicts == 300 and sum(w.stats.written for w in writers) == 600
    assert metrics.registry.get_sample_value("gateway_records_id_conflicts_total") == conflicts


def test_leases_hand_out_distinct_machine_ids_and_reuse_released_ones(engine: Engine) -> None:
    generators = [Snowflake() for _ in range(4)]
    first, second = (MachineLease(engine, generator, ttl=30) for generator in generators[:2])
    assert (first.claim(), second.claim()) == (0, 1)
    assert (generators[0].machine, generators[1].machine) == (0, 1)
    for _ in range(5):
        generators[0].next_id()
    first.release()
    third = MachineLease(engine, generators[2], ttl=30)
    assert third.claim() == 0, "the lowest released id"
    assert generators[2].last_ms >= generators[0].last_ms, "the next holder starts after the last one"
    with engine.begin() as connection:
        connection.execute(sa.update(MACHINE_LEASES).where(MACHINE_LEASES.c.id == 1)
                           .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    assert MachineLease(engine, generators[3], ttl=30).claim() == 1, "an expired lease is taken over"
    assert not second.renew(), "its holder finds it lost"
    assert second.claim() == 2 and generators[1].machine == 2
    assert third.renew()


_CLAIM_AS_PID_1 = """
import json, os, sys
os.getpid = lambda: 1
from gateway.core.ids import Snowflake
from gateway.store.db import create_engine_for
from gateway.store.leases import MachineLease
sys.stdin.readline()
ids = Snowflake.for_process()
lease = MachineLease(create_engine_for(sys.argv[1]), ids)
lease.claim()
print(json.dumps({"pid": os.getpid(), "machine": lease.machine, "ids": [ids.next_id() for _ in range(2000)]}))
"""


def test_two_processes_that_are_both_pid_1_get_distinct_ids(db_url: str) -> None:
    processes = [subprocess.Popen([sys.executable, "-c", _CLAIM_AS_PID_1, db_url], cwd=project_root(),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [process.communicate("go\n", timeout=60) for process in processes]
    assert all(p.returncode == 0 for p in processes), [err[-1500:] for _, err in outputs]
    results = [json.loads(out) for out, _ in outputs]
    assert [r["pid"] for r in results] == [1, 1]
    assert {r["machine"] for r in results} == {0, 1}
    assert not set(results[0]["ids"]) & set(results[1]["ids"])
