"""The record writer's buffer: what ``RecordWriter.submit`` touches.

Records wait here, as the journal keeps them (rows not yet cleaned, and encoded when the
journal did it), until the committer takes a batch or the spiller takes the lot. Every
operation holds one lock for a few pointer moves: adding is O(1) and never waits on the
database, on a file, or on a lock held across any of them.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import NamedTuple

from gateway.store.inserts import clean_rows
from gateway.store.spool import Rows

log = logging.getLogger("gateway.store.writer")

class Item(NamedTuple):
    """A record on its way to the database."""

    id: object
    """The record's id, for logs and the journal."""
    rows: Rows
    """Its rows, by table."""
    line: bytes | None = None
    """Its rows as the spool (and the journal) encode them, when that was done already."""


class RecordBuffer:
    """At most ``capacity`` items, oldest first; thread-safe. Once ``close``d it takes
    nothing more."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the buffer needs room for at least one record")
        self.capacity = capacity
        self._items: deque[Item] = deque()
        self._lock = threading.Lock()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def has_room(self) -> bool:
        return not self._closed and len(self._items) < self.capacity

    def offer(self, item: Item) -> int:
        """Add ``item`` if there is room; returns the depth it made, 0 when refused."""
        with self._lock:
            if self._closed or len(self._items) >= self.capacity:
                return 0
            self._items.append(item)
            return len(self._items)

    def take(self, count: int) -> list[Item]:
        """Remove and return up to ``count`` of the oldest items."""
        with self._lock:
            items = self._items
            return [items.popleft() for _ in range(min(count, len(items)))]

    def take_all(self) -> deque[Item]:
        """Remove and return every item (the deque itself: O(1))."""
        with self._lock:
            taken, self._items = self._items, deque()
            return taken

    def close(self) -> None:
        with self._lock:
            self._closed = True


def clean_items(items: Iterable[Item], reject: Callable[[Item], None]) -> list[Item]:
    """``items`` with their rows cleaned for the database (blocking: run it off the loop);
    one that cannot be cleaned is logged and passed to ``reject``."""
    cleaned: list[Item] = []
    for item in items:
        try:
            cleaned.append(Item(item.id, clean_rows(item.rows), item.line))
        except Exception:
            log.exception("record %s cannot be cleaned for the database; rejected", item.id)
            reject(item)
    return cleaned
