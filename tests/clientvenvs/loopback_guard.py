"""Imported first by the ``*_check.py`` scripts: like the suite's own guard (``tests/conftest.py``), any
connection the client process opens beyond loopback fails instead of reaching the network."""

from __future__ import annotations

import socket
from typing import Any

_real_connect = socket.socket.connect


def _loopback_only(self: socket.SocketType, address: Any) -> None:
    host = address[0] if isinstance(address, tuple) else address
    local = not isinstance(host, str) or host.startswith("127.") or host in ("::1", "localhost")
    if self.family in (socket.AF_INET, socket.AF_INET6) and not local:
        raise OSError(f"client script tried to reach the network: {address!r}")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign]
