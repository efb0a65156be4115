"""The journal: each record, as it is handed over, appended to a local file, so a crash of
the process (SIGKILL, out of memory) loses no record the database had not taken yet.

A process's journal is a run of segment files ``journal-<token>-<seq>.log`` in the journal
directory (``0600`` files in a ``0700`` directory), ``token`` being random per process,
since pids repeat across containers. A line is a kind, a space and the record's rows
encoded as in the spool: ``R`` a finished record; ``C`` a checkpoint of a stream in
flight, the CANCELLED record it would leave if the process died now (the first one is the
stream's "open" entry). An append is one ``os.write`` to a file opened ``O_APPEND``, in the
caller's thread: once it returns the kernel has the bytes, and a process crash keeps them.
A background thread ``fdatasync``s every ``fsync_interval`` seconds, which bounds what a
power loss takes.

A segment is rotated after ``segment_records`` entries or ``segment_seconds``, and deleted
(by the background thread) once nothing in it is needed: every record in it *settled*
(committed to the database or moved to the spool) and every stream checkpointed in it
finished or checkpointed again later. Each segment is held with an exclusive ``flock``
while its process lives (taken before the file gets its name), so recovery at start
(``gateway.store.recovery``) reads only the journals of processes that are gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from gateway.store.localfiles import create_private, private_directory, sync_directory
from gateway.store.records import RequestRecord
from gateway.store.spool import Rows, encode

log = logging.getLogger("gateway.store.journal")

PREFIX = "journal-"
SUFFIX = ".log"
RECORD = b"R"
CHECKPOINT = b"C"


@runtime_checkable
class CheckpointSink(Protocol):
    """A record sink that can also keep the state of a stream still in flight."""

    def checkpoint(self, record: RequestRecord) -> None:
        """Keep ``record``, the CANCELLED record a stream would leave if the process died now,
        until the stream's final record is submitted. Never blocks for long, never raises."""
        ...


def segment_name(token: str, seq: int) -> str:
    return f"{PREFIX}{token}-{seq:08d}{SUFFIX}"


def parse_name(name: str) -> tuple[str, int] | None:
    """``(token, seq)`` of a segment file name; ``None`` for any other name."""
    if not (name.startswith(PREFIX) and name.endswith(SUFFIX)):
        return None
    token, _, seq = name[len(PREFIX) : -len(SUFFIX)].rpartition("-")
    return (token, int(seq)) if token and seq.isdigit() else None


@dataclass(eq=False, slots=True)
class _Segment:
    seq: int
    path: Path
    fd: int
    opened: float
    entries: int = 0
    pending: set[object] = field(default_factory=set)
    dirty: bool = False
    retired: bool = False


class Journal:
    """One process's journal; thread-safe. ``append``/``checkpoint``/``settle`` never raise:
    a journal that cannot be written logs an error and the record is kept in memory only."""

    def __init__(self, directory: Path, *, segment_records: int = 1000, segment_seconds: float = 30.0,
                 fsync_interval: float = 0.1) -> None:
        self.directory = Path(directory)
        self.token = secrets.token_hex(8)
        self._segment_records = max(1, segment_records)
        self._segment_seconds = segment_seconds
        self._fsync_interval = fsync_interval
        self._lock = threading.Lock()
        self._segments: list[_Segment] = []
        self._doomed: list[_Segment] = []
        self._final: dict[object, _Segment] = {}
        self._progress: dict[object, _Segment] = {}
        self._seq = 0
        self._open = False
        self._directory_dirty = False
        self._failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> int:
        """Records and streams in flight the journal still keeps."""
        with self._lock:
            return len(self._final) + len(self._progress)

    def open(self) -> None:
        """Create the directory and the first segment, start the sync thread (blocking;
        raises ``OSError`` when the directory cannot be used)."""
        private_directory(self.directory)
        with self._lock:
            self._segments.append(self._new_segment())
            self._open = True
        self._thread = threading.Thread(target=self._sync_forever, name="record-journal", daemon=True)
        self._thread.start()

    def append(self, record_id: object, rows: Rows) -> bool:
        """Journal a finished record until ``settle``; True when written."""
        return self.append_encoded(record_id, encode(rows))

    def append_encoded(self, record_id: object, payload: bytes) -> bool:
        """``append`` for rows already ``encode``d (``payload``)."""
        line = RECORD + b" " + payload + b"\n"
        with self._lock:
            segment = self._write(line)
            if segment is None:
                return False
            self._move(self._progress.pop(record_id, None), record_id)
            segment.pending.add(record_id)
            self._final[record_id] = segment
            return True

    def checkpoint(self, record_id: object, rows: Rows) -> bool:
        """Journal the state of a stream in flight (replacing its previous checkpoint)."""
        line = CHECKPOINT + b" " + encode(rows) + b"\n"
        with self._lock:
            if record_id in self._final:
                return False
            segment = self._write(line)
            if segment is None:
                return False
            self._move(self._progress.get(record_id), record_id)
            segment.pending.add(record_id)
            self._progress[record_id] = segment
            return True

    def settle(self, record_ids: Iterable[object]) -> None:
        """These records are committed (or spooled): the journal need not keep them."""
        with self._lock:
            for record_id in record_ids:
                self._move(self._final.pop(record_id, None), record_id)

    def close(self) -> int:
        """Sync and close; delete the segments holding nothing pending, keep the others for
        the next start to recover. Returns how many records and streams were kept."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._open = False
            kept = len(self._final) + len(self._progress)
            segments, self._segments = self._segments, []
            doomed, self._doomed = self._doomed, []
        for segment in doomed + segments:
            self._finish(segment, delete=not segment.pending)
        with contextlib.suppress(OSError):
            sync_directory(self.directory)
        return kept

    def _write(self, line: bytes) -> _Segment | None:
        """Append ``line`` to the current segment (rotating first when due); under the lock."""
        if not self._open:
            return None
        try:
            segment = self._current()
            view = memoryview(line)
            while view:
                view = view[os.write(segment.fd, view) :]
        except OSError as exc:
            self._failed(exc)
            return None
        segment.entries += 1
        segment.dirty = True
        return segment

    def _current(self) -> _Segment:
        segment = self._segments[-1]
        due = segment.entries >= self._segment_records or (
            segment.entries > 0 and time.monotonic() - segment.opened >= self._segment_seconds)
        if not due:
            return segment
        fresh = self._new_segment()
        segment.retired = True
        self._segments.append(fresh)
        self._doom_if_done(segment)
        return fresh

    def _new_segment(self) -> _Segment:
        """A locked, empty segment: created under a hidden name, locked, then renamed, so no
        recovery can take it for a dead process's."""
        self._seq += 1
        final = self.directory / segment_name(self.token, self._seq)
        hidden = final.with_name("." + final.name)
        fd = create_private(hidden, os.O_WRONLY | os.O_APPEND)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(hidden, final)
        except BaseException:
            os.close(fd)
            raise
        self._directory_dirty = True
        return _Segment(self._seq, final, fd, time.monotonic())

    def _move(self, segment: _Segment | None, record_id: object) -> None:
        if segment is not None:
            segment.pending.discard(record_id)
            self._doom_if_done(segment)

    def _doom_if_done(self, segment: _Segment) -> None:
        if segment.retired and not segment.pending and segment in self._segments:
            self._segments.remove(segment)
            self._doomed.append(segment)

    def _failed(self, exc: OSError) -> None:
        self._failures += 1
        if self._failures == 1 or self._failures % 1000 == 0:
            log.error("journal %s cannot be written (%d failures): %s; records are kept in memory only",
                      self.directory, self._failures, exc)

    def _sync_forever(self) -> None:
        while not self._stop.wait(self._fsync_interval):
            self._sync_once()

    def _sync_once(self) -> None:
        """``fdatasync`` what was written since the last pass; delete the segments no longer needed."""
        with self._lock:
            dirty = [s for s in self._segments + self._doomed if s.dirty]
            for segment in dirty:
                segment.dirty = False
            doomed, self._doomed = self._doomed, []
            directory_dirty, self._directory_dirty = self._directory_dirty, False
        for segment in dirty:
            if segment not in doomed:
                _quietly(os.fdatasync, segment.fd)
        for segment in doomed:
            self._finish(segment, delete=True)
        if directory_dirty or doomed:
            _quietly(sync_directory, self.directory)

    def _finish(self, segment: _Segment, *, delete: bool) -> None:
        """Close ``segment`` (releasing its lock); unlinked first when ``delete``, else synced."""
        try:
            if delete:
                segment.path.unlink(missing_ok=True)
            else:
                os.fdatasync(segment.fd)
        except OSError as exc:
            log.error("journal segment %s could not be %s: %s", segment.path, "deleted" if delete else "synced", exc)
        finally:
            os.close(segment.fd)


def _quietly(call: Callable[[Any], object], argument: Any) -> None:
    try:
        call(argument)
    except OSError as exc:
        log.error("journal sync failed: %s", exc)
