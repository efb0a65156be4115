"""``gateway activity``: the newest records, and with ``--tail`` the new ones as they are written.

Reads the database through ``ActivityRepository``, polling once a second. A record counts
as new when its id (a time-ordered snowflake taken when the request arrived) is above the
newest one seen at start, so a request already running when ``--tail`` began may not show.
Ctrl-C stops following with exit status 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect

from gateway.cli_keys import CliError
from gateway.settings import Settings
from gateway.store.db import create_engine_for
from gateway.store.repository import MAX_PAGE_SIZE, ActivityFilters, ActivityRepository

_PAGE = 200
_MAX_PAGES_PER_POLL = 50
_SEEN_LIMIT = 50_000

HEADER = (f"{'TIME (UTC)':<19}  {'STATUS':<9}  {'PROVIDER':<10}  {'MODEL':<30}  {'HTTP':>4}  {'MS':>8}  "
          f"{'TOKENS':>7}  COST (USD)")


def _cost(value: Any) -> str:
    if value is None:
        return "-"
    amount = Decimal(str(value)).normalize()
    return f"{amount:f}"


def format_line(record: dict[str, Any]) -> str:
    """One record as a fixed-width line: time, status, provider, model, HTTP status, ms, tokens, cost."""
    created = dt.datetime.fromisoformat(record["created_at"]).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    model = record.get("model_requested") or record.get("model_answered") or "-"
    ms = record.get("time_taken_ms")
    tokens = record.get("total_tokens")
    return (f"{created:<19}  {record['status']:<9}  {record.get('provider') or '-':<10}  {model:<30}  "
            f"{record['http_status']:>4}  {(f'{ms:.0f}' if ms is not None else '-'):>8}  "
            f"{(tokens if tokens is not None else '-'):>7}  {_cost(record.get('cost'))}")


def newer_records(repository: ActivityRepository, floor: int, seen: set[int]) -> list[dict[str, Any]]:
    """Records with an id above ``floor`` not in ``seen``, oldest first."""
    found: list[dict[str, Any]] = []
    cursor: int | None = None
    for _ in range(_MAX_PAGES_PER_POLL):
        page = repository.list_records(ActivityFilters(), _PAGE, cursor)
        fresh = [item for item in page.items if int(item["id"]) > floor]
        found.extend(item for item in fresh if int(item["id"]) not in seen)
        if len(fresh) < len(page.items) or page.next_cursor is None:
            break
        cursor = page.next_cursor
    return sorted(found, key=lambda item: int(item["id"]))


def follow(repository: ActivityRepository, floor: int, interval: float) -> Iterator[dict[str, Any]]:
    """New records as they appear, polling every ``interval`` seconds; runs until interrupted."""
    seen: set[int] = set()
    order: deque[int] = deque()
    while True:
        time.sleep(interval)
        for record in newer_records(repository, floor, seen):
            record_id = int(record["id"])
            seen.add(record_id)
            order.append(record_id)
            if len(order) > _SEEN_LIMIT:
                seen.discard(order.popleft())
            yield record


def _activity(settings: Settings, args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= MAX_PAGE_SIZE:
        raise CliError(f"--limit must be between 1 and {MAX_PAGE_SIZE}")
    engine = create_engine_for(settings.database_url)
    try:
        if not inspect(engine).has_table("request_records"):
            raise CliError(f"no records: {settings.database_url.split('@')[-1]} has no request_records table "
                           "(run `gateway migrate`, or start the gateway once)")
        repository = ActivityRepository(engine)
        recent = repository.list_records(ActivityFilters(), args.limit).items
        print(HEADER)
        for record in reversed(recent):
            print(format_line(record))
        if not args.tail:
            return 0
        floor = max((int(record["id"]) for record in recent), default=0)
        print("following new records (Ctrl-C to stop)", file=sys.stderr, flush=True)
        try:
            for record in follow(repository, floor, args.interval):
                print(format_line(record), flush=True)
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
        return 0
    finally:
        engine.dispose()


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    activity = commands.add_parser("activity", help="the newest request records; --tail follows new ones")
    activity.add_argument("--tail", action="store_true", help="keep printing new records until Ctrl-C")
    activity.add_argument("--limit", type=int, default=20, help="how many of the newest records to show first")
    activity.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    activity.set_defaults(handler=_activity)
