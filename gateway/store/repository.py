"""Reading request records back: the activity list and single-record lookup.

Methods are synchronous (callers run them in a worker thread) and build every query
from bound parameters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Engine, Row, func, or_, select

from gateway.core.ids import id_floor
from gateway.core.metrics import decimal_text
from gateway.store.models import ATTEMPTS, RECORDS, as_utc

MAX_PAGE_SIZE = 500
_ID_CLOCK_SLACK = dt.timedelta(seconds=5)
"""Ids are snowflakes minted when the record's ``created_at`` is taken, so a time window is
also an id range; bounding ``id`` too (with slack for clock steps) lets a date-range page walk
the primary key instead of sorting the window."""
_MAX_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class ActivityFilters:
    """Filters of the activity list; ``None`` means no filter. ``model`` matches the
    requested or the answered model; ``since`` is inclusive, ``until`` exclusive; a
    naive datetime is taken to be UTC."""

    provider: str | None = None
    model: str | None = None
    status: str | None = None
    key_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """One page of records, newest first; ``next_cursor`` is passed as ``cursor`` to
    get the next page and is ``None`` on the last page."""

    items: list[dict[str, Any]]
    next_cursor: int | None


class ActivityRepository:
    """Queries over ``request_records`` and ``request_attempts``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def list_records(
        self, filters: ActivityFilters, limit: int = 50, cursor: int | None = None
    ) -> ActivityPage:
        """Records matching ``filters`` with ``id < cursor`` (no bound when ``cursor``
        is ``None``), newest first, at most ``limit`` (capped at ``MAX_PAGE_SIZE``).
        Raises ``ValueError`` when ``limit`` < 1."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        limit = min(limit, MAX_PAGE_SIZE)
        conditions = _conditions(filters)
        if cursor is not None and cursor <= _MAX_ID:
            conditions.append(RECORDS.c.id < cursor)
        query = select(RECORDS).where(*conditions).order_by(RECORDS.c.id.desc()).limit(limit + 1)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        items = [row_dict(row) for row in rows[:limit]]
        next_cursor = int(items[-1]["id"]) if len(rows) > limit else None
        return ActivityPage(items=items, next_cursor=next_cursor)

    def get_record(self, key: str) -> dict[str, Any] | None:
        """The record whose ``request_id`` is ``key`` (the newest, should several
        share it), else the record whose ``id`` is ``key`` when ``key`` is all
        digits; with its attempts, in order, under ``"attempts"``. ``None`` if neither."""
        with self._engine.connect() as connection:
            by_request_id = select(RECORDS).where(RECORDS.c.request_id == key).order_by(RECORDS.c.id.desc())
            row = connection.execute(by_request_id.limit(1)).first()
            if row is None and _as_id(key) is not None:
                row = connection.execute(select(RECORDS).where(RECORDS.c.id == _as_id(key))).first()
            if row is None:
                return None
            by_record = select(ATTEMPTS).where(ATTEMPTS.c.record_id == row.id)
            attempts = connection.execute(by_record.order_by(ATTEMPTS.c.attempt, ATTEMPTS.c.id)).all()
        return {**row_dict(row), "attempts": [row_dict(a) for a in attempts]}

    def count(self) -> int:
        """The number of rows in ``request_records``."""
        with self._engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(RECORDS)).scalar_one())


def _conditions(filters: ActivityFilters) -> list[ColumnElement[bool]]:
    columns = RECORDS.c
    conditions: list[ColumnElement[bool]] = []
    if filters.provider is not None:
        conditions.append(columns.provider == filters.provider)
    if filters.model is not None:
        model = filters.model
        conditions.append(or_(columns.model_requested == model, columns.model_answered == model))
    if filters.status is not None:
        conditions.append(columns.status == filters.status)
    if filters.key_id is not None:
        conditions.append(columns.key_id == filters.key_id)
    if filters.since is not None:
        since = as_utc(filters.since)
        conditions += [columns.created_at >= since, columns.id >= _id_bound(since, -_ID_CLOCK_SLACK)]
    if filters.until is not None:
        until = as_utc(filters.until)
        conditions += [columns.created_at < until, columns.id < _id_bound(until, _ID_CLOCK_SLACK)]
    return conditions


def _id_bound(when: dt.datetime, slack: dt.timedelta) -> int:
    """``id_floor(when + slack)``; at the ends of the datetime range, ``id_floor(when)``."""
    try:
        return id_floor(when + slack)
    except OverflowError:
        return id_floor(when)


def _as_id(key: str) -> int | None:
    if not (key.isascii() and key.isdigit()):
        return None
    value = int(key)
    return value if value <= _MAX_ID else None


_ID_COLUMNS = frozenset({"id", "record_id"})


def row_dict(row: Row[Any]) -> dict[str, Any]:
    """A row as a JSON-ready dict keyed by column name; datetimes as ISO 8601 (UTC), decimals
    (costs) as ``decimal_text``, the same text as their ``*_COST`` metrics.

    64-bit ids are strings, since JavaScript numbers cannot hold them exactly."""
    return {
        str(name): str(value) if name in _ID_COLUMNS else _json_ready(value) for name, value in row._mapping.items()
    }


def _json_ready(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return as_utc(value).isoformat()
    if isinstance(value, Decimal):
        return decimal_text(value)
    return value
