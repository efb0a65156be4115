"""Server processes for the bench: start in their own process group, wait until ready, measure, stop."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import psutil

LOOPBACK = "127.0.0.1"


class ServerError(RuntimeError):
    """A server did not start or died; the message carries the end of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def http_call(port: int, method: str, path: str, body: bytes | None = None,
              headers: Mapping[str, str] | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    """One request to ``127.0.0.1:port``; ``(status, body)``."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment for a server: ours without gateway/provider/LiteLLM/Portkey settings (and no
    HTTP proxy: Portkey would send its upstream calls through one), plus ``extra``."""
    prefixes = ("GATEWAY_", "OPENAI_", "LITELLM_", "DATABASE_URL", "ANTHROPIC_", "AZURE_", "PORTKEY_", "REDIS_",
                "TRUSTED_CUSTOM_HOSTS", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NODE_OPTIONS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(line[:300] for line in text[-lines:])


class Server:
    """One server (and its workers) in its own session, so one ``killpg`` stops all of it."""

    def __init__(self, name: str, argv: Sequence[str], *, port: int, health: str, env: Mapping[str, str],
                 cwd: Path, log: Path, workers: int = 1, kind: str = "") -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.health = health
        self.env = dict(env)
        self.cwd = cwd
        self.log = log
        self.workers = workers
        self.kind = kind
        self.proc: subprocess.Popen[bytes] | None = None
        self.error: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ready(self) -> bool:
        try:
            status, _ = http_call(self.port, "GET", self.health, timeout=1.0)
        except OSError:
            return False
        return status == 200

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                code = self.proc.returncode if self.proc else None
                raise ServerError(f"{self.name} exited with code {code} before it was ready:\n{tail(self.log)}")
            if self.ready():
                return
            time.sleep(0.2)
        raise ServerError(f"{self.name} not ready after {timeout:.0f}s:\n{tail(self.log)}")

    def processes(self) -> list[psutil.Process]:
        """The server's process and all its descendants (workers, helpers)."""
        if not self.alive() or self.proc is None:
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def rss(self) -> int:
        """Resident memory of all the server's processes, in bytes."""
        total = 0
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the children when there are workers, else the root."""
        procs = self.processes()
        if not procs:
            return []
        serving = [p for p in procs[1:] if "resource_tracker" not in " ".join(_cmdline(p))]
        return [p.pid for p in serving] if self.workers > 1 and serving else [procs[0].pid]

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        # Whatever is left of the group (workers, helpers): kill it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


class MemoryWatch:
    """Samples the RSS of the server under load every ``interval`` seconds; keeps the peak per server."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peaks: dict[str, int] = {}
        self._active: Server | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    @contextlib.contextmanager
    def loading(self, server: Server | None) -> Iterator[None]:
        self._active = server
        try:
            yield
        finally:
            if server is not None:
                self._sample(server)
            self._active = None

    def _sample(self, server: Server) -> None:
        rss = server.rss()
        if rss:
            self.peaks[server.name] = max(self.peaks.get(server.name, 0), rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            server = self._active
            if server is not None:
                self._sample(server)


class Interference:
    """How many cores processes that are not part of the bench kept busy during a measurement.

    Busy CPU time of the whole machine, minus the bench's own: this process and its finished children
    (k6, the stream client), every server's process tree, and PostgreSQL's processes (the bench's
    PostgreSQL configuration loads them). On a shared machine, another job's work shows up here."""

    def __init__(self, servers: Sequence[Server]) -> None:
        self.servers = servers
        self._mark = self._read()

    def _read(self) -> tuple[float, float, float]:
        ours = _own_cpu() + sum(s.cpu_seconds() for s in self.servers) + _postgres_cpu()
        return time.monotonic(), _busy(), ours

    def restart(self) -> None:
        self._mark = self._read()

    def cores(self) -> float:
        """Average cores used by others since the last ``restart``."""
        then, busy0, ours0 = self._mark
        now, busy1, ours1 = self._read()
        wall = now - then
        return max(0.0, ((busy1 - busy0) - (ours1 - ours0)) / wall) if wall > 0.05 else 0.0


def _postgres_cpu() -> float:
    total = 0.0
    for proc in psutil.process_iter(["name", "cpu_times"]):
        name = proc.info.get("name") or ""
        times = proc.info.get("cpu_times")
        if name.startswith("postgres") and times is not None:
            total += times.user + times.system
    return total


def _busy() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
