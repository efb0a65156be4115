"""Rows of a record, and the one insert every path uses (buffer, spool, journal recovery).

A row whose id is already taken is one of two things, told apart by the record's
identity, its ``(request_id, created_at)``: the same record again (a batch committed but
reported failed, a spool file or journal replayed after a crash), which is skipped; or a
different record that drew the same id (two processes minting with the same machine
bits), which is written under a new id (``Snowflake.at`` its creation time, so the time
order of ids holds), with its attempts, and logged at WARNING. Nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Insert, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from gateway.core.ids import Snowflake
from gateway.store.models import ATTEMPTS, RECORDS, as_utc
from gateway.store.records import RequestRecord
from gateway.store.spool import Rows

log = logging.getLogger("gateway.store.writer")

__all__ = ["InsertOutcome", "Remint", "clean_rows", "insert_rows", "is_data_error", "merge_rows", "raw_rows", "rows_of"]

Remint = Callable[[dt.datetime], int]
"""A new id for a record created at the given time whose id was taken."""

_CONFLICT_KEYS: dict[str, list[str]] = {RECORDS.name: ["id"], ATTEMPTS.name: ["record_id", "attempt"]}
_REMINT_TRIES = 8
_IN_CHUNK = 500

Identity = tuple[str, dt.datetime]


@dataclass(frozen=True, slots=True)
class InsertOutcome:
    """What an insert did with its records: ``written`` new rows, ``duplicates`` already
    there (not written again), ``reminted`` written under a new id because theirs was taken
    by a different record (also in ``written``)."""

    written: int = 0
    duplicates: int = 0
    reminted: int = 0

    def __add__(self, other: InsertOutcome) -> InsertOutcome:
        return InsertOutcome(self.written + other.written, self.duplicates + other.duplicates,
                             self.reminted + other.reminted)

    @property
    def stored(self) -> int:
        """Records now in the database: written or already there."""
        return self.written + self.duplicates


def rows_of(record: RequestRecord) -> Rows:
    """The rows ``record`` becomes, by table, cleaned so the database accepts them:
    strings cut to their column's length and stripped of NUL characters."""
    return clean_rows(raw_rows(record))


def raw_rows(record: RequestRecord) -> Rows:
    """The rows ``record`` becomes, not yet cleaned (cheap: what the journal keeps)."""
    rows: Rows = {RECORDS: [record.as_row()]}
    attempts = record.attempt_rows()
    if attempts:
        rows[ATTEMPTS] = attempts
    return rows


def clean_rows(rows: Rows) -> Rows:
    """``rows`` with strings cut to their column's length and stripped of NUL characters
    (at any depth of JSON values); idempotent."""
    return {table: [_clean_row(table, row) for row in batch] for table, batch in rows.items()}


def merge_rows(parts: Iterable[Rows]) -> Rows:
    """The rows of several records as one batch."""
    merged: Rows = {}
    for part in parts:
        for table, rows in part.items():
            merged.setdefault(table, []).extend(rows)
    return merged


_LENGTHS: dict[str, dict[str, int]] = {
    table.name: {c.name: length for c in table.c if (length := getattr(c.type, "length", None))}
    for table in (RECORDS, ATTEMPTS)
}


def _clean_row(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: _strip_nul(v) for k, v in row.items()} if _may_hold_nul(row) else dict(row)
    for name, length in _LENGTHS.get(table.name, {}).items():
        value = cleaned.get(name)
        if isinstance(value, str) and len(value) > length:
            cleaned[name] = value[:length]
    return cleaned


def _may_hold_nul(row: dict[str, Any]) -> bool:
    """False only when no string in ``row`` holds a NUL (one pass in C, as JSON escapes it)."""
    try:
        return b"\\u0000" in orjson.dumps(row, default=str, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return True


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strip_nul(v) for v in value]
    return value


def is_data_error(exc: BaseException) -> bool:
    """True when ``exc`` means the rows are bad (retrying cannot help), as opposed to
    the database being unreachable or misconfigured."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)


def insert_rows(engine: Engine, rows: Mapping[Table, Sequence[Mapping[str, Any]]] | Sequence[Rows],
                remint: Remint | None = None) -> InsertOutcome:
    """Insert in one transaction: ``rows`` is one record's rows per item (or one mapping of
    any rows); id conflicts are resolved as the module docstring says, new ids coming from
    ``remint`` (default: this process's generator). Raises what the database raises."""
    groups: list[Mapping[Table, Sequence[Mapping[str, Any]]]] = (
        [rows] if isinstance(rows, Mapping) else list(rows))
    with engine.begin() as connection:
        return _Batch(connection, remint or Snowflake.for_process().at).insert(groups)


def _insert_ignoring_duplicates(dialect: str, table: Table) -> Insert:
    keys = _CONFLICT_KEYS[table.name]
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    return insert(table)


Placed = tuple[int, dict[str, Any]]
"""A record row and the index of the group (record) it came from."""


class _Batch:
    """One transaction's inserts; ``stored`` maps (group, id as given) to the id the record
    has in the database, or ``None`` when it was already there."""

    def __init__(self, connection: Connection, remint: Remint) -> None:
        self._connection = connection
        self._dialect = connection.dialect.name
        self._remint = remint
        self._stored: dict[tuple[int, int], int | None] = {}

    def insert(self, groups: Sequence[Mapping[Table, Sequence[Mapping[str, Any]]]]) -> InsertOutcome:
        placed = [(index, dict(row)) for index, group in enumerate(groups) for row in group.get(RECORDS, ())]
        clashes = self._insert_first(placed)
        outcome = InsertOutcome(written=len(placed) - len(clashes))
        if clashes:
            outcome += self._resolve(clashes)
        self._insert_attempts(groups)
        return outcome

    def _insert_first(self, placed: list[Placed]) -> list[Placed]:
        """Insert each id's first row; the rows not inserted (id taken) are returned."""
        first: dict[int, Placed] = {}
        clashes: list[Placed] = []
        for item in placed:
            if item[1]["id"] in first:
                clashes.append(item)
            else:
                first[item[1]["id"]] = item
        inserted = self._insert_records([row for _, row in first.values()])
        for index, row in first.values():
            if row["id"] in inserted:
                self._stored[(index, row["id"])] = row["id"]
            else:
                clashes.append((index, row))
        return clashes

    def _insert_records(self, rows: list[dict[str, Any]]) -> set[int]:
        if not rows:
            return set()
        statement = _insert_ignoring_duplicates(self._dialect, RECORDS)
        if self._dialect not in ("postgresql", "sqlite"):
            self._connection.execute(statement, rows)
            return {row["id"] for row in rows}
        return set(self._connection.execute(statement.returning(RECORDS.c.id), rows).scalars())

    def _resolve(self, clashes: list[Placed]) -> InsertOutcome:
        known = self._identities({row["request_id"] for _, row in clashes})
        outcome = InsertOutcome()
        for index, row in clashes:
            if _identity(row) in known:
                self._stored[(index, row["id"])] = None
                outcome += InsertOutcome(duplicates=1)
                continue
            self._stored[(index, row["id"])] = self._reinsert(row)
            known.add(_identity(row))
            outcome += InsertOutcome(written=1, reminted=1)
        return outcome

    def _identities(self, request_ids: set[str]) -> set[Identity]:
        """The identities in the database of records with one of ``request_ids``."""
        found: set[Identity] = set()
        ordered = sorted(request_ids)
        for start in range(0, len(ordered), _IN_CHUNK):
            chunk = ordered[start : start + _IN_CHUNK]
            query = select(RECORDS.c.request_id, RECORDS.c.created_at).where(RECORDS.c.request_id.in_(chunk))
            found.update((r, as_utc(c)) for r, c in self._connection.execute(query))
        return found

    def _reinsert(self, row: dict[str, Any]) -> int:
        """Write ``row`` under a fresh id; returns it."""
        created = as_utc(row["created_at"])
        for _ in range(_REMINT_TRIES):
            new_id = self._remint(created)
            if self._insert_records([{**row, "id": new_id}]):
                log.warning("record id %s was already taken by a different record (request %s); written as %s",
                            row["id"], row["request_id"], new_id)
                return new_id
        raise RuntimeError(f"no free id found for record {row['id']} after {_REMINT_TRIES} tries")

    def _insert_attempts(self, groups: Sequence[Mapping[Table, Sequence[Mapping[str, Any]]]]) -> None:
        rows: list[dict[str, Any]] = []
        for index, group in enumerate(groups):
            for attempt in group.get(ATTEMPTS, ()):
                key = (index, attempt["record_id"])
                record_id = self._stored.get(key, attempt["record_id"])
                if record_id is not None:
                    rows.append({**attempt, "record_id": record_id})
        if rows:
            self._connection.execute(_insert_ignoring_duplicates(self._dialect, ATTEMPTS), rows)


def _identity(row: Mapping[str, Any]) -> Identity:
    return row["request_id"], as_utc(row["created_at"])
