"""Usage totals over a time window: requests, tokens and cost, grouped by day, model,
provider and gateway key.

The database filters the window (``created_at`` index, bound parameters only) and
streams just the columns needed; grouping and sums happen here, so the same code runs
on SQLite and PostgreSQL and costs are summed exactly as ``Decimal`` (SQLite stores
them as decimal text, which SQL ``SUM`` would turn into floats). ``day`` is the UTC
date of the request's start; ``model`` is the model as the client asked for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Row, select

from gateway.store.models import RECORDS, as_utc

GROUP_FIELDS: tuple[str, ...] = ("day", "model", "provider", "key")
"""What usage can be grouped by, in the order groups are sorted."""

_BATCH = 5_000
_COLUMNS = ("created_at", "model_requested", "provider", "key_id", "input_tokens", "output_tokens", "total_tokens",
            "input_cost", "output_cost", "cost")


@dataclass(slots=True)
class UsageTotals:
    """Sums over some records. Costs sum only the priced records; ``None`` when none was priced."""

    requests: int = 0
    unpriced_requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_cost: Decimal | None = None
    output_cost: Decimal | None = None
    cost: Decimal | None = None

    def add(self, row: Row[Any]) -> None:
        self.requests += 1
        self.input_tokens += row.input_tokens or 0
        self.output_tokens += row.output_tokens or 0
        self.total_tokens += row.total_tokens or 0
        if row.cost is None:
            self.unpriced_requests += 1
            return
        self.input_cost = _plus(self.input_cost, row.input_cost)
        self.output_cost = _plus(self.output_cost, row.output_cost)
        self.cost = _plus(self.cost, row.cost)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: counts as numbers, costs as plain decimal strings (or ``None``)."""
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "input_cost": _text(self.input_cost),
            "output_cost": _text(self.output_cost),
            "cost": _text(self.cost),
            "unpriced_requests": self.unpriced_requests,
        }


@dataclass(frozen=True, slots=True)
class UsageGroup:
    """One group: ``key`` holds the value of each grouped field (``key`` is ``key_id``)."""

    key: dict[str, str | None]
    totals: UsageTotals

    def as_dict(self) -> dict[str, Any]:
        named = {("key_id" if name == "key" else name): value for name, value in self.key.items()}
        return {**named, **self.totals.as_dict()}


@dataclass(frozen=True, slots=True)
class UsageReport:
    since: dt.datetime
    until: dt.datetime
    group_by: tuple[str, ...]
    groups: list[UsageGroup] = field(default_factory=list)
    total: UsageTotals = field(default_factory=UsageTotals)


def _plus(total: Decimal | None, value: Decimal | None) -> Decimal | None:
    if value is None:
        return total
    return value if total is None else total + value


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _group_value(name: str, row: Row[Any]) -> str | None:
    if name == "day":
        created: dt.datetime = row.created_at
        return as_utc(created).date().isoformat()
    if name == "model":
        model: str | None = row.model_requested
        return model
    if name == "provider":
        provider: str | None = row.provider
        return provider
    key_id: str | None = row.key_id
    return key_id


def parse_group_by(values: Iterable[str]) -> tuple[str, ...]:
    """The fields named in ``values`` (comma-separated items allowed), in canonical order.
    Raises ``ValueError`` naming an unknown field; nothing named means all fields."""
    names = {part.strip() for value in values for part in value.split(",") if part.strip()}
    unknown = sorted(names - set(GROUP_FIELDS))
    if unknown:
        raise ValueError(f"unknown group_by field '{unknown[0]}' (allowed: {', '.join(GROUP_FIELDS)})")
    return tuple(name for name in GROUP_FIELDS if name in names) if names else GROUP_FIELDS


class UsageRepository:
    """Synchronous (run it in a worker thread)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def summarize(self, since: dt.datetime, until: dt.datetime, group_by: Sequence[str] = GROUP_FIELDS
                  ) -> UsageReport:
        """Totals of the records with ``since <= created_at < until`` (naive datetimes are UTC),
        per group, sorted by the grouped fields (missing values first)."""
        columns = RECORDS.c
        query = (
            select(*(columns[name] for name in _COLUMNS))
            .where(columns.created_at >= as_utc(since), columns.created_at < as_utc(until))
            .execution_options(yield_per=_BATCH)
        )
        groups: dict[tuple[str | None, ...], UsageTotals] = {}
        total = UsageTotals()
        with self._engine.connect() as connection:
            for row in connection.execute(query):
                key = tuple(_group_value(name, row) for name in group_by)
                groups.setdefault(key, UsageTotals()).add(row)
                total.add(row)
        ordered = sorted(groups.items(), key=lambda item: tuple((v is not None, v or "") for v in item[0]))
        report_groups = [UsageGroup(dict(zip(group_by, key, strict=True)), totals) for key, totals in ordered]
        return UsageReport(as_utc(since), as_utc(until), tuple(group_by), report_groups, total)
