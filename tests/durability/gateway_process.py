"""The gateway as a real server process (``uvicorn --factory``), which a test can SIGKILL,
and client traffic that tells which answers were fully received."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.store.db import project_root

MASTER = "gw-master-durability"
_PREFIXES = ("GATEWAY_", "OPENAI_", "PROMETHEUS_MULTIPROC_DIR")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GatewayProcess:
    """``python -m uvicorn gateway.app:create_app_from_env --factory`` on a free port, its
    output in ``log``; the environment is ours without gateway settings, plus ``env``."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        environment = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
        environment.update(env)
        argv = [sys.executable, "-m", "uvicorn", "gateway.app:create_app_from_env", "--factory", "--host",
                "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        with open(log, "ab") as output:
            self.process = subprocess.Popen(argv, env=environment, cwd=log.parent, stdout=output,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gateway did not start:\n{self.tail()}")
            time.sleep(0.1)

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Outcomes:
    """By request id: ``complete`` answers the client fully received (``stream`` or not),
    ``started`` streams that delivered at least one delta but never finished."""

    complete: dict[str, bool] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


BODY: dict[str, Any] = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
SLOW: dict[str, Any] = {**BODY, "stream": True, "messages": [{"role": "user", "content": "slow"}]}


class Traffic:
    """``fast`` threads alternating non-stream and stream requests and ``slow`` threads
    opening long streams, against ``url``, until ``stop``. Bounded: each thread sends at
    most ``limit`` requests."""

    def __init__(self, url: str, fast: int = 4, slow: int = 2, limit: int = 2000) -> None:
        self._url = url
        self._stop = threading.Event()
        self._counter = iter(range(10**9))
        self._limit = limit
        self.outcomes = Outcomes()
        self._pool = ThreadPoolExecutor(fast + slow)
        self._futures = [self._pool.submit(self._run, False) for _ in range(fast)]
        self._futures += [self._pool.submit(self._run, True) for _ in range(slow)]

    def _run(self, slow: bool) -> None:
        headers = {"authorization": f"Bearer {MASTER}"}
        with httpx.Client(base_url=self._url, timeout=15, headers=headers) as client:
            for _ in range(self._limit):
                if self._stop.is_set():
                    return
                number = next(self._counter)
                stream = slow or number % 2 == 0
                request_id = f"{'slow' if slow else 'fast'}-{number}"
                try:
                    self._one(client, request_id, SLOW if slow else {**BODY, "stream": stream}, stream)
                except (httpx.HTTPError, OSError):
                    if self._stop.wait(0.05):
                        return

    def _one(self, client: httpx.Client, request_id: str, body: dict[str, Any], stream: bool) -> None:
        with client.stream("POST", "/v1/chat/completions", json=body, headers={"x-request-id": request_id}) as r:
            assert r.headers["x-request-id"] == request_id
            if not stream:
                r.read()
                if r.status_code == 200 and r.json()["choices"]:
                    self._done(request_id, False)
                return
            for line in r.iter_lines():
                if line == "data: [DONE]":
                    self._done(request_id, True)
                elif line.startswith("data: {") and request_id not in self.outcomes.started:
                    with self.outcomes.lock:
                        self.outcomes.started.add(request_id)

    def _done(self, request_id: str, stream: bool) -> None:
        with self.outcomes.lock:
            self.outcomes.complete[request_id] = stream
            self.outcomes.started.discard(request_id)

    def answered(self) -> int:
        with self.outcomes.lock:
            return len(self.outcomes.complete)

    def stop(self) -> Outcomes:
        self._stop.set()
        for future in self._futures:
            future.result(timeout=30)
        self._pool.shutdown()
        return self.outcomes


__all__ = ["MASTER", "GatewayProcess", "Traffic", "project_root"]
