"""Private local files for the spool and the journal: directories ``0700``, files ``0600``
(they hold request records, possibly with captured bodies)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("gateway.store")

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def private_directory(path: Path) -> None:
    """Create ``path`` (and its parents) if missing; make it ``0700`` when it is ours and
    more open than that. Raises ``OSError`` when it cannot be created."""
    path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
        try:
            path.chmod(DIRECTORY_MODE)
        except OSError as exc:
            log.warning("could not make %s private (mode 0700): %s", path, exc)


def create_private(path: Path, flags: int = os.O_WRONLY) -> int:
    """A new file at ``path`` (it must not exist), mode ``0600``; returns its descriptor."""
    fd = os.open(path, flags | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


def sync_directory(path: Path) -> None:
    """``fsync`` a directory, so the names created or removed in it survive a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
