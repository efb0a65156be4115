"""Recovery of the journals of processes that are gone (see ``gateway.store.journal``).

A journal belongs to a process that is gone when none of its segments is locked. Its
records are resolved per record id: the finished record when there is one, otherwise
the stream's latest checkpoint (a CANCELLED record with what it had). The caller moves
them somewhere durable (the spool) and only then ``discard``s the journal, so a crash in
between recovers it again, which the insert's duplicate check makes harmless.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.store.inserts import clean_rows
from gateway.store.journal import CHECKPOINT, RECORD, parse_name
from gateway.store.localfiles import sync_directory
from gateway.store.models import RECORDS
from gateway.store.spool import Rows, Spool, decode

log = logging.getLogger("gateway.store.journal")


@dataclass(slots=True)
class Recovered:
    """The locked journal of a process that is gone, and the records it leaves."""

    token: str
    paths: list[Path]
    rows: list[Rows] = field(default_factory=list)
    in_flight: int = 0
    bad_lines: int = 0
    _fds: list[int] = field(default_factory=list)

    def discard(self) -> None:
        """Delete the journal (its records are safe elsewhere) and unlock it."""
        try:
            for path in self.paths:
                path.unlink(missing_ok=True)
            if self.paths:
                sync_directory(self.paths[0].parent)
        finally:
            self.release()

    def release(self) -> None:
        """Unlock the journal, leaving it for a later recovery."""
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()


def dead_journals(directory: Path, own_token: str) -> Iterator[Recovered]:
    """Each journal in ``directory`` that no live process holds, locked and read (blocking).
    The caller must ``discard`` or ``release`` each one."""
    if not directory.is_dir():
        return
    for token, paths in sorted(_journals(directory).items()):
        if token == own_token:
            continue
        journal = _lock(token, paths)
        if journal is not None:
            _read(journal)
            yield journal


def _journals(directory: Path) -> dict[str, list[Path]]:
    found: dict[str, list[tuple[int, Path]]] = {}
    for path in directory.iterdir():
        parsed = parse_name(path.name)
        if parsed is not None:
            found.setdefault(parsed[0], []).append((parsed[1], path))
    return {token: [path for _, path in sorted(items)] for token, items in found.items()}


def _lock(token: str, paths: list[Path]) -> Recovered | None:
    """All of a journal's segments locked, or ``None`` when its process still holds one."""
    journal = Recovered(token, [])
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            journal.release()
            return None
        if not os.fstat(fd).st_nlink:
            os.close(fd)
            continue
        journal.paths.append(path)
        journal._fds.append(fd)
    return journal


def _read(journal: Recovered) -> None:
    finished: dict[object, Rows] = {}
    in_flight: dict[object, Rows] = {}
    for path, fd in zip(journal.paths, journal._fds, strict=True):
        for number, line in enumerate(_lines(fd), 1):
            entry = _entry(path, number, line)
            if entry is None:
                journal.bad_lines += 1
                continue
            kind, record_id, rows = entry
            if kind == RECORD:
                finished[record_id] = rows
                in_flight.pop(record_id, None)
            elif record_id not in finished:
                in_flight[record_id] = rows
    journal.rows = [*finished.values(), *in_flight.values()]
    journal.in_flight = len(in_flight)


def _lines(fd: int) -> list[bytes]:
    with os.fdopen(os.dup(fd), "rb") as handle:
        return [line for line in handle.read().splitlines() if line.strip()]


def _entry(path: Path, number: int, line: bytes) -> tuple[bytes, object, Rows] | None:
    kind, _, payload = line.partition(b" ")
    try:
        if kind not in (RECORD, CHECKPOINT):
            raise ValueError(f"unknown entry kind {kind[:8]!r}")
        rows = decode(payload)
        return kind, rows[RECORDS][0]["id"], rows
    except (ValueError, KeyError, IndexError) as exc:
        log.error("journal %s line %d is not a record and is skipped: %s", path, number, exc)
        return None


def recover_into(spool: Spool, directory: Path, own_token: str, batch_size: int) -> int:
    """Move the records of every journal in ``directory`` that no live process holds into
    ``spool`` (``batch_size`` per file), deleting each journal once they are there; returns
    how many records were moved (blocking; a journal that cannot be moved is logged and left)."""
    moved = 0
    for dead in dead_journals(directory, own_token):
        try:
            rows = [clean_rows(r) for r in dead.rows]
            for start in range(0, len(rows), batch_size):
                spool.append(rows[start : start + batch_size])
        except OSError as exc:
            log.error("journal %s could not be recovered into the spool (%s); left for later", dead.token, exc)
            dead.release()
            continue
        dead.discard()
        moved += len(dead.rows)
        log.info("recovered %d records (%d of them streams in flight, now CANCELLED) from the journal of a "
                 "process that is gone (%s)", len(dead.rows), dead.in_flight, dead.token)
    return moved
