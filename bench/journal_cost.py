"""What the record journal costs: ``RecordWriter.submit`` timed with and without it, in
process (the request path's share: turning the record into rows, plus with the journal one
encode and one ``os.write``), a stream checkpoint, and the whole pipeline (submit, then the
batched inserts into SQLite). Prints figures and ratios; asserts nothing about time.

    .venv/bin/python bench/journal_cost.py [--records N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.core import metrics as m  # noqa: E402
from gateway.core.ids import Snowflake  # noqa: E402
from gateway.core.results import Usage  # noqa: E402
from gateway.store.db import create_engine_for, run_migrations  # noqa: E402
from gateway.store.journal import Journal  # noqa: E402
from gateway.store.records import RequestRecord  # noqa: E402
from gateway.store.writer import RecordWriter  # noqa: E402

IDS = Snowflake()


def record(n: int, status: str = m.STATUS_SUCCESS) -> RequestRecord:
    """A record shaped like a chat completion's."""
    record_id = IDS.next_id()
    usage = Usage(input_tokens=24, output_tokens=96, total_tokens=120)
    return RequestRecord(
        id=record_id, request_id=f"req_{n:024x}", created_at=dt.datetime.now(dt.UTC), endpoint="chat.completions",
        provider="openai", model_requested="openai/gpt-4o-mini", model_answered="gpt-4o-mini-2024-07-18",
        stream=n % 2 == 0, status=status, http_status=200, time_taken_ms=412.5, first_token_ms=88.0,
        metrics=m.build_metrics(llm_request_id=record_id, status=status, time_taken_ns=412_500_000, usage=usage,
                                first_token_ns=88_000_000),
        metadata={"user": "bench"}, input_tokens=24, output_tokens=96, total_tokens=120, key_id="key_bench")


def writer(directory: Path, journal: bool, records: int) -> RecordWriter:
    url = f"sqlite:///{directory}/gateway.db"
    run_migrations(url)
    return RecordWriter(create_engine_for(url), max_queue=records + 1, batch_size=500, flush_interval=3600,
                        spool_dir=directory / "spool", journal=Journal(directory / "journal") if journal else None)


def timed(work: Callable[[], None]) -> float:
    gc.collect()
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


async def one_round(records: int, journal: bool) -> tuple[float, float, float]:
    """Seconds for ``records`` submits, for as many checkpoints, and for submit + flush."""
    batch = [record(n) for n in range(records)]
    with tempfile.TemporaryDirectory(prefix="journal-cost-") as tmp:
        sink = writer(Path(tmp), journal, records)
        await sink.start()
        submit = timed(lambda: [sink.submit(r) for r in batch] and None)
        checkpoint = timed(lambda: [sink.checkpoint(r) for r in batch] and None)
        started = time.perf_counter()
        await sink.flush()
        pipeline = submit + time.perf_counter() - started
        await sink.close()
    return submit, checkpoint, pipeline


def report(records: int, rounds: dict[bool, list[tuple[float, float, float]]]) -> None:
    def median(journal: bool, index: int) -> float:
        return statistics.median(r[index] for r in rounds[journal])

    print(f"records per round: {records}, rounds: {len(rounds[True])} (medians)")
    for label, index in (("submit", 0), ("checkpoint", 1), ("submit + batched insert", 2)):
        without, with_journal = median(False, index), median(True, index)
        per_without, per_with = without / records * 1e6, with_journal / records * 1e6
        if index == 1:
            print(f"  {label:<24} with journal {per_with:7.2f} us/call (no-op without a journal)")
            continue
        print(f"  {label:<24} without {per_without:7.2f} us/record   with journal {per_with:7.2f} us/record   "
              f"ratio {with_journal / without:5.2f}  (+{per_with - per_without:.2f} us)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rounds: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
    for _ in range(args.rounds):
        for journal in (False, True):
            rounds[journal].append(await one_round(args.records, journal))
    report(args.records, rounds)


if __name__ == "__main__":
    asyncio.run(main())
