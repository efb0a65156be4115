"""Records for the durability tests, and a writer process that dies with SIGKILL.

``python -m tests.durability.records URL SPOOL JOURNAL COMMITTED JOURNALED STREAMS``
starts a ``RecordWriter`` with a journal, commits ``COMMITTED`` records, submits
``JOURNALED`` more without writing them, checkpoints ``STREAMS`` streams in flight,
prints ``ready`` and kills itself with SIGKILL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from pathlib import Path
from typing import Any

from gateway.core import metrics as m
from gateway.core.results import Usage
from gateway.store.db import create_engine_for
from gateway.store.journal import Journal
from gateway.store.records import Attempt, RequestRecord
from gateway.store.writer import RecordWriter

BASE_ID = 7_500_000_000_000_000_000
BASE_TIME = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def make_record(n: int, **changes: Any) -> RequestRecord:
    """Record ``n`` (id ``BASE_ID + n``, request id ``jr-<n>``), with two attempts when ``n`` is odd."""
    usage = Usage(input_tokens=10, output_tokens=n % 7, total_tokens=10 + n % 7)
    values: dict[str, Any] = {
        "id": BASE_ID + n, "request_id": f"jr-{n}", "created_at": BASE_TIME + dt.timedelta(milliseconds=n),
        "endpoint": "chat.completions", "provider": "openai", "model_requested": "gpt-4o-mini",
        "model_answered": "gpt-4o-mini", "stream": False, "status": m.STATUS_SUCCESS, "http_status": 200,
        "time_taken_ms": 5.0 + n, "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "metrics": m.build_metrics(llm_request_id=BASE_ID + n, status=m.STATUS_SUCCESS, time_taken_ns=5_000_000,
                                   usage=usage),
        "attempts": [Attempt(1, "openai", "m", m.STATUS_FAILED, 502, 1.0), Attempt(2, "openai", "m",
                                                                                   m.STATUS_SUCCESS, 200, 1.0)]
        if n % 2 else [],
    }
    values.update(changes)
    return RequestRecord(**values)


def in_flight(n: int, deltas: int) -> RequestRecord:
    """The checkpoint of stream ``n`` after ``deltas`` deltas: the CANCELLED record it would leave."""
    return make_record(n, stream=True, status=m.STATUS_CANCELLED, http_status=499, error_type="cancelled",
                       output_tokens=deltas, total_tokens=10 + deltas, first_token_ms=2.5)


async def _die_with_journal(url: str, spool: Path, journal: Path, committed: int, journaled: int,
                            streams: int) -> None:
    writer = RecordWriter(create_engine_for(url), spool_dir=spool, journal=Journal(journal), flush_interval=3600)
    await writer.start()
    for n in range(committed):
        writer.submit(make_record(n))
    assert await writer.flush()
    for n in range(committed, committed + journaled):
        writer.submit(make_record(n))
    for n in range(committed + journaled, committed + journaled + streams):
        writer.checkpoint(in_flight(n, 1))
        writer.checkpoint(in_flight(n, 3))
    print("ready", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    url, spool, journal, *counts = sys.argv[1:]
    asyncio.run(_die_with_journal(url, Path(spool), Path(journal), *map(int, counts)))
