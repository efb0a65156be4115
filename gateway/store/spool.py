"""A durable local spool for records the database cannot take now.

Each batch becomes one file of JSON lines (one record's rows per line), written to a
temporary name, ``fsync``'d, then renamed into place, so a spool file is either
complete or absent (files ``0600`` in a ``0700`` directory). Files are named by creation
time (and a random per-process token, as pids repeat across containers) and replayed
oldest first.
A replayer ``claim``s a file (an exclusive, non-blocking ``flock``, so two processes
sharing the directory do not replay it at once), inserts its rows and only then
``release``s it with ``done=True``, which deletes it. The inserts recognise records
already there (``gateway.store.inserts``), so a crash between the commit and the delete
replays the file without duplicating anything.

Values are encoded with orjson (datetimes as ISO 8601, decimals as text) and turned
back into ``datetime``/``Decimal`` by their column's type when read.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import itertools
import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import DateTime, Numeric, Table
from sqlalchemy.types import TypeDecorator

from gateway.store.localfiles import create_private, private_directory, sync_directory
from gateway.store.models import ATTEMPTS, RECORDS

log = logging.getLogger(__name__)

Rows = dict[Table, list[dict[str, Any]]]
"""Rows to insert, by table."""

TABLES: dict[str, Table] = {table.name: table for table in (RECORDS, ATTEMPTS)}
SUFFIX = ".jsonl"
_counter = itertools.count()
_TOKEN = secrets.token_hex(4)


def encode(rows: Mapping[Table, Sequence[Mapping[str, Any]]]) -> bytes:
    """One spool line: ``{"<table>": [row, ...], ...}``."""
    payload = {table.name: list(batch) for table, batch in rows.items()}
    return orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS)


def decode(line: bytes) -> Rows:
    """The rows of one spool line; raises ``ValueError`` for a line that is not one."""
    payload = orjson.loads(line)
    if not isinstance(payload, dict):
        raise ValueError("a spool line must be a JSON object")
    rows: Rows = {}
    for name, batch in payload.items():
        table = TABLES.get(name)
        if table is None or not isinstance(batch, list):
            raise ValueError(f"unknown table {name!r} in a spool line")
        rows[table] = [_restore(table, row) for row in batch]
    return rows


def _restore(table: Table, row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise ValueError("a spooled row must be a JSON object")
    restored = dict(row)
    for name, value in row.items():
        if isinstance(value, str) and name in table.c:
            kind = _base_type(table.c[name].type)
            if isinstance(kind, DateTime):
                restored[name] = dt.datetime.fromisoformat(value)
            elif isinstance(kind, Numeric):
                try:
                    restored[name] = Decimal(value)
                except ArithmeticError as exc:
                    raise ValueError(f"{name} is not a decimal") from exc
    return restored


def _base_type(kind: Any) -> Any:
    return kind.impl if isinstance(kind, TypeDecorator) else kind


@dataclass(slots=True)
class Claimed:
    """A spool file held for replay: its decoded rows, and the lines that could not be
    decoded (logged, skipped)."""

    path: Path
    rows: list[Rows]
    bad_lines: int
    _fd: int


class Spool:
    """The spool directory; created on first write. Every method is blocking (run them
    in a worker thread) and raises ``OSError`` when the directory cannot be used."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def append(self, batch: Sequence[Mapping[Table, Sequence[Mapping[str, Any]]]]) -> Path:
        """Write ``batch`` (one item per record) durably as a new spool file."""
        return self.append_lines([encode(rows) for rows in batch])

    def append_lines(self, lines: Sequence[bytes]) -> Path:
        """Write ``lines`` (each one record's rows, ``encode``d) durably as a new spool file."""
        private_directory(self.directory)
        name = f"records-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}-{os.getpid()}-{_TOKEN}-{next(_counter):08d}{SUFFIX}"
        final = self.directory / name
        temporary = final.with_name("." + name + ".tmp")
        with os.fdopen(create_private(temporary), "wb") as handle:
            handle.write(b"".join(line + b"\n" for line in lines))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
        sync_directory(self.directory)
        return final

    def files(self) -> list[Path]:
        """Complete spool files, oldest first (none when the directory does not exist)."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("."))

    def claim(self, path: Path) -> Claimed | None:
        """Lock and read ``path``; ``None`` if it is gone or another process holds it."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            with os.fdopen(os.dup(fd), "rb") as handle:
                lines = [line for line in handle.read().splitlines() if line.strip()]
        except BaseException:
            os.close(fd)
            raise
        rows: list[Rows] = []
        bad = 0
        for number, line in enumerate(lines, 1):
            try:
                rows.append(decode(line))
            except ValueError as exc:
                bad += 1
                log.error("spool file %s line %d is not a record and is skipped: %s", path, number, exc)
        return Claimed(path, rows, bad, fd)

    def release(self, claimed: Claimed, *, done: bool) -> None:
        """Unlock ``claimed``; with ``done`` (its rows are committed) delete the file first."""
        try:
            if done:
                claimed.path.unlink(missing_ok=True)
                sync_directory(self.directory)
        finally:
            os.close(claimed._fd)
