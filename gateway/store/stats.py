"""Aggregates over ``request_records`` for the dashboard's charts.

Queries are SQLAlchemy Core with bound parameters only and run unchanged on SQLite
and PostgreSQL. The database filters the time window (``created_at`` index) and sums
tokens per model; time bucketing, percentiles and cost sums are done in Python over
at most ``max_rows`` of the window's newest rows, fetched with only the columns needed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, select

from gateway.core.metrics import STATUS_FAILED, decimal_text
from gateway.store.models import RECORDS, as_utc

DEFAULT_MAX_ROWS = 200_000
PERCENTILES = (50, 95, 99)
_EARLIEST = int(dt.datetime.min.replace(tzinfo=dt.UTC).timestamp())


@dataclass(frozen=True, slots=True)
class StatsWindow:
    """``[since, until)`` cut into buckets of ``bucket_seconds``; naive datetimes are UTC.

    Buckets are aligned to multiples of ``bucket_seconds`` since the Unix epoch, so
    the first bucket may start before ``since``, but never before 0001-01-01 (where a
    window reaching back that far starts its first bucket, unaligned)."""

    since: dt.datetime
    until: dt.datetime
    bucket_seconds: int

    def bucket_starts(self) -> list[dt.datetime]:
        """Start of every bucket that overlaps the window, oldest first."""
        step = self.bucket_seconds
        first = max(math.floor(as_utc(self.since).timestamp() / step) * step, _EARLIEST)
        end = as_utc(self.until).timestamp()
        return [dt.datetime.fromtimestamp(t, dt.UTC) for t in range(int(first), math.ceil(end), step)]


@dataclass(slots=True)
class _Bucket:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    first_tokens: list[float] = field(default_factory=list)


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of ascending ``sorted_values``: the smallest value with
    at least ``p`` percent of the values at or below it. ``None`` when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class StatsRepository:
    """Read-only aggregate queries; methods are synchronous (run them in a thread)."""

    def __init__(self, engine: Engine, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self._engine = engine
        self._max_rows = max_rows

    def activity_stats(self, window: StatsWindow) -> dict[str, Any]:
        """Charts data for ``window``: ``{buckets, by_model, rows, capped, note?}``.

        ``buckets`` has one entry per bucket (empty ones too) with request and error
        (status ``FAILED``) counts and nearest-rank p50/p95/p99 of ``time_taken_ms`` and,
        over streamed requests that produced a token, ``first_token_ms`` (``None`` when
        there is no value). ``by_model`` sums requests and tokens exactly; ``cost`` (a
        decimal string) sums the records' ``cost`` column, as ``/v1/usage`` does, and is
        ``None`` when none of the group's records carries one (unpriced, not free). When the window holds more than
        ``max_rows`` rows, buckets and costs use only the newest ``max_rows`` of them,
        ``capped`` is true and ``note`` says so."""
        timeline, capped_timeline = self._timeline_rows(window)
        costs, capped_costs = self._costs(window)
        capped = capped_timeline or capped_costs
        result: dict[str, Any] = {
            "buckets": _buckets(window, timeline),
            "by_model": self._by_model(window, costs),
            "rows": len(timeline),
            "capped": capped,
        }
        if capped:
            result["note"] = (f"The window holds more than {self._max_rows} requests; percentiles, "
                              f"per-bucket counts and costs cover only the newest {self._max_rows}.")
        return result

    def _timeline_rows(self, window: StatsWindow) -> tuple[list[Any], bool]:
        columns = RECORDS.c
        query = (select(columns.created_at, columns.status, columns.time_taken_ms, columns.first_token_ms)
                 .where(*_in_window(window))
                 .order_by(columns.created_at.desc(), columns.id.desc())
                 .limit(self._max_rows + 1))
        with self._engine.connect() as connection:
            rows = list(connection.execute(query).all())
        return rows[: self._max_rows], len(rows) > self._max_rows

    def _costs(self, window: StatsWindow) -> tuple[dict[tuple[str | None, str | None], Decimal], bool]:
        """Cost per ``(model, provider)``, from the records' ``cost`` column (the one ``/v1/usage``
        sums too), priced records only; summed as ``Decimal`` here, since SQLite keeps decimal text."""
        query = (select(_model(), RECORDS.c.provider, RECORDS.c.cost)
                 .where(*_in_window(window), RECORDS.c.cost.is_not(None))
                 .order_by(RECORDS.c.created_at.desc())
                 .limit(self._max_rows + 1))
        with self._engine.connect() as connection:
            rows = list(connection.execute(query).all())
        totals: dict[tuple[str | None, str | None], Decimal] = {}
        for model, provider, cost in rows[: self._max_rows]:
            key = (model, provider)
            totals[key] = totals.get(key, Decimal(0)) + cost
        return totals, len(rows) > self._max_rows

    def _by_model(self, window: StatsWindow,
                  costs: dict[tuple[str | None, str | None], Decimal]) -> list[dict[str, Any]]:
        model = _model().label("model")
        query = (select(model, RECORDS.c.provider, func.count().label("requests"),
                        func.coalesce(func.sum(RECORDS.c.input_tokens), 0).label("input_tokens"),
                        func.coalesce(func.sum(RECORDS.c.output_tokens), 0).label("output_tokens"))
                 .where(*_in_window(window))
                 .group_by(model, RECORDS.c.provider))
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        out = [{"model": row.model, "provider": row.provider, "requests": int(row.requests),
                "input_tokens": int(row.input_tokens), "output_tokens": int(row.output_tokens),
                "cost": _decimal_text(costs.get((row.model, row.provider)))} for row in rows]
        out.sort(key=lambda item: (-item["requests"], item["model"] or "", item["provider"] or ""))
        return out


def _model() -> ColumnElement[str | None]:
    """The model a record is charted under: the one requested, else the one answering."""
    return func.coalesce(RECORDS.c.model_requested, RECORDS.c.model_answered)


def _in_window(window: StatsWindow) -> list[ColumnElement[bool]]:
    return [RECORDS.c.created_at >= as_utc(window.since), RECORDS.c.created_at < as_utc(window.until)]


def _buckets(window: StatsWindow, rows: Iterable[Any]) -> list[dict[str, Any]]:
    starts = window.bucket_starts()
    first = starts[0].timestamp() if starts else 0.0
    buckets = [_Bucket() for _ in starts]
    for created_at, status, time_taken_ms, first_token_ms in rows:
        index = int((as_utc(created_at).timestamp() - first) // window.bucket_seconds)
        if not 0 <= index < len(buckets):
            continue
        bucket = buckets[index]
        bucket.requests += 1
        bucket.errors += int(status == STATUS_FAILED)
        bucket.latencies.append(float(time_taken_ms))
        if first_token_ms is not None:
            bucket.first_tokens.append(float(first_token_ms))
    return [_bucket_dict(start, bucket) for start, bucket in zip(starts, buckets, strict=True)]


def _bucket_dict(start: dt.datetime, bucket: _Bucket) -> dict[str, Any]:
    out: dict[str, Any] = {"start": start.isoformat(), "requests": bucket.requests, "errors": bucket.errors}
    latencies, first_tokens = sorted(bucket.latencies), sorted(bucket.first_tokens)
    for p in PERCENTILES:
        out[f"p{p}_ms"] = _rounded(percentile(latencies, p))
    for p in PERCENTILES:
        out[f"ttft_p{p}_ms"] = _rounded(percentile(first_tokens, p))
    return out


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _decimal_text(value: Decimal | None) -> str | None:
    """``value`` in plain (never scientific) notation without trailing zeros, the same on both
    databases (PostgreSQL's ``NUMERIC(24, 12)`` pads to 12 places, SQLite keeps the text written);
    zero is ``"0"``, ``None`` stays ``None``."""
    if value is None:
        return None
    return "0" if value == 0 else decimal_text(value.normalize())
