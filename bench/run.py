"""``make bench``: our gateway, LiteLLM, Portkey and the bare mock upstream, measured side by side in one run.

Starts a mock OpenAI upstream, the gateway with 1 and with N (= cores) workers on SQLite, the
gateway with N workers on a fresh PostgreSQL database, the LiteLLM proxy with 1 and N workers and
the Portkey AI gateway (one Node process: it has no workers), all on 127.0.0.1 and all pointed at
the same mock. Then, for each round, runs every test against every target in turn (direct,
gateway, LiteLLM, Portkey, direct, gateway, ...), and finally writes
``bench/results/latest.md``, ``latest.json`` and ``latest.png``. See ``bench/README.md``.

    python bench/run.py            # full: 3 rounds, about 15-20 minutes on 2 cores
    python bench/run.py --quick    # 2 short rounds, about 3 minutes
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import loadtools
import orjson
import procs
import report
from loadtools import CHAT_BODY, EMBED_BODY, LATENCY50_BODY, LoadResult, ToolError
from procs import Interference, MemoryWatch, Server, ServerError

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
LITELLM_VENV = BENCH / ".venv-litellm"
LITELLM_VERSION = "1.106.2"
PORTKEY_DIR = BENCH / ".portkey"
PORTKEY_VERSION = "1.15.2"
# Portkey 1.15.2 declares "@hono/node-server": "^1.3.3"; npm now resolves that to 1.19.x, whose Response
# keeps a fetched response's immutable Headers, and Portkey's ResponseService.updateHeaders then throws
# "TypeError: immutable" on every streamed or passed-through answer (embeddings): the client gets 500
# {"status":"failure","message":"Something went wrong"} (Portkey-AI/gateway#1389). Portkey's own lockfile
# resolves it to 1.13.5, so the bench pins that (an npm override; Portkey's code is not touched).
PORTKEY_NODE_SERVER = "1.13.5"
PORTKEY_START = PORTKEY_DIR / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
PORTKEY_PRELOAD = BENCH / "portkey_loopback.mjs"
GATEWAY_BIN = ROOT / ".venv" / "bin" / "gateway"
MASTER_KEY = "sk-bench-master-key"
UPSTREAM_KEY = "sk-bench-upstream-key"
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

P99_BOUND_MS = 50.0
ERROR_BOUND = 0.001
STALL_MS = 200.0
PACE_MS = 20.0


@dataclass(frozen=True)
class Mode:
    name: str
    rounds: int
    c1_seconds: float
    ttft_seconds: float
    step_seconds: float
    precision: float  # the rate search stops when the failing rate is within this fraction of the passing one
    max_steps: int
    lat50_seconds: float
    lat50_concurrency: int
    stream_ramp: float
    stream_levels: tuple[int, ...]
    litellm_stream_levels: tuple[int, ...]  # the stream levels the peers (LiteLLM and Portkey) run at too
    parity_requests: int
    settle: float
    quiet_wait: float
    retry_budget: int  # at most this many repeated runs in the whole bench (bounds the time)
    profile_seconds: int = 10


FULL = Mode(name="full", rounds=3, c1_seconds=5, ttft_seconds=4, step_seconds=3, precision=0.1, max_steps=9,
            lat50_seconds=5, lat50_concurrency=64, stream_ramp=1.0, stream_levels=(100, 500, 1000),
            litellm_stream_levels=(100, 500), parity_requests=6000, settle=2.0, quiet_wait=120,
            retry_budget=40)
QUICK = Mode(name="quick", rounds=2, c1_seconds=1.5, ttft_seconds=1.5, step_seconds=1.0, precision=0.3,
             max_steps=5, lat50_seconds=1.5, lat50_concurrency=64, stream_ramp=1.0, stream_levels=(100, 1000),
             litellm_stream_levels=(100,), parity_requests=2000, settle=1.0, quiet_wait=30, retry_budget=6,
             profile_seconds=6)
SEARCH_START = {"direct": 2000, "gateway": 200, "litellm": 100, "portkey": 200}
PEERS = ("litellm", "portkey")
SEARCH_MAX_RATE = 16000
INTERFERENCE_LIMIT = 0.25  # cores used by other processes during a run before it is repeated
MAX_RETRIES = 2


@dataclass
class Target:
    name: str
    kind: str  # direct | gateway | litellm | portkey
    workers: int
    server: Server | None
    key: str
    records: str = ""  # sqlite | postgresql for gateways
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # sent on every request (Portkey's routing)

    @property
    def available(self) -> bool:
        return not self.reason

    @property
    def base(self) -> str:
        assert self.server is not None
        return self.server.base_url

    @property
    def chat_url(self) -> str:
        return self.base + "/v1/chat/completions"

    @property
    def embed_url(self) -> str:
        return self.base + "/v1/embeddings"


@dataclass
class State:
    mode: Mode
    started: str
    targets: dict[str, Target] = field(default_factory=dict)
    data: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    memory: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def add(self, test: str, target: str, value: Any) -> None:
        self.data.setdefault(test, {}).setdefault(target, []).append(value)


def log(message: str) -> None:
    stamp = dt.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


# ---------------------------------------------------------------- LiteLLM environment


def litellm_installed() -> str | None:
    python = LITELLM_VENV / "bin" / "python"
    if not python.exists() or not (LITELLM_VENV / "bin" / "litellm").exists():
        return None
    proc = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                          capture_output=True, timeout=60, check=False)
    return proc.stdout.decode().strip() or None


def ensure_litellm(logs: Path) -> str | None:
    """Install ``litellm[proxy]==LITELLM_VERSION`` into its own venv if needed; the reason when impossible."""
    if litellm_installed() == LITELLM_VERSION:
        return None
    log(f"installing litellm[proxy]=={LITELLM_VERSION} into {LITELLM_VENV.relative_to(ROOT)} (one time)")
    out = logs / "litellm-install.log"
    try:
        with out.open("wb") as handle:
            if not (LITELLM_VENV / "bin" / "python").exists():
                subprocess.run([sys.executable, "-m", "venv", "--clear", str(LITELLM_VENV)], stdout=handle,
                               stderr=subprocess.STDOUT, timeout=300, check=True)
            pip = [str(LITELLM_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
            subprocess.run([*pip, "--upgrade", "pip"], stdout=handle, stderr=subprocess.STDOUT, timeout=600,
                           check=False)
            subprocess.run([*pip, f"litellm[proxy]=={LITELLM_VERSION}"], stdout=handle, stderr=subprocess.STDOUT,
                           timeout=1500, check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        lines = [ln for ln in procs.tail(out, 40).splitlines() if ln.strip() and not ln.startswith("WARNING: Loc")]
        detail = lines[-1][:200] if lines else str(exc)
        return f"pip install litellm[proxy]=={LITELLM_VERSION} failed: {detail}"
    version = litellm_installed()
    if version != LITELLM_VERSION:
        return f"litellm {LITELLM_VERSION} not importable after install (found {version})"
    return None


def litellm_config(path: Path, upstream: str) -> None:
    models = [{"model_name": f"openai/{name}",
               "litellm_params": {"model": f"openai/{name}", "api_base": upstream + "/v1", "api_key": UPSTREAM_KEY}}
              for name in ("instant", "latency50", "stream", "stream-fast")]
    config = {
        "model_list": models,
        "litellm_settings": {"telemetry": False, "success_callback": [], "failure_callback": [], "callbacks": [],
                             "turn_off_message_logging": True, "json_logs": False},
        "general_settings": {"master_key": MASTER_KEY, "disable_spend_logs": True, "disable_error_logs": True,
                             "store_model_in_db": False, "disable_reset_budget": True,
                             "disable_adding_master_key_hash_to_db": True, "allow_requests_on_db_unavailable": True},
    }
    path.write_bytes(orjson.dumps(config, option=orjson.OPT_INDENT_2))  # JSON is YAML


# ---------------------------------------------------------------- Portkey environment


def portkey_installed() -> dict[str, str] | None:
    """The installed versions (gateway, @hono/node-server, hono), or None when not installed."""
    versions: dict[str, str] = {}
    for key, package in (("gateway", "@portkey-ai/gateway"), ("node_server", "@hono/node-server"), ("hono", "hono")):
        try:
            meta = orjson.loads((PORTKEY_DIR / "node_modules" / package / "package.json").read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        versions[key] = str(meta.get("version"))
    return versions if PORTKEY_START.exists() else None


def ensure_portkey(logs: Path) -> str | None:
    """Install ``@portkey-ai/gateway@PORTKEY_VERSION`` into ``bench/.portkey`` (npm) if needed; the reason
    when impossible."""
    installed = portkey_installed()
    if installed and installed["gateway"] == PORTKEY_VERSION and installed["node_server"] == PORTKEY_NODE_SERVER:
        return None
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "node/npm not found on PATH"
    log(f"installing @portkey-ai/gateway@{PORTKEY_VERSION} into {PORTKEY_DIR.relative_to(ROOT)} (one time)")
    PORTKEY_DIR.mkdir(parents=True, exist_ok=True)
    (PORTKEY_DIR / "package.json").write_bytes(orjson.dumps({
        "name": "bench-portkey", "private": True, "description": "written by bench/run.py",
        "dependencies": {"@portkey-ai/gateway": PORTKEY_VERSION},
        "overrides": {"@hono/node-server": PORTKEY_NODE_SERVER}}, option=orjson.OPT_INDENT_2))
    out = logs / "portkey-install.log"
    try:
        with out.open("wb") as handle:
            # --ignore-scripts: the package's only script is `postinstall: patch-package`, and it ships no patches.
            subprocess.run([npm, "install", "--prefix", str(PORTKEY_DIR), "--no-audit", "--no-fund", "--ignore-scripts",
                            "--loglevel", "warn"], stdout=handle, stderr=subprocess.STDOUT, timeout=900,
                           check=True, cwd=PORTKEY_DIR)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        lines = [ln for ln in procs.tail(out, 40).splitlines() if ln.strip()]
        return f"npm install @portkey-ai/gateway@{PORTKEY_VERSION} failed: {lines[-1][:200] if lines else exc}"
    installed = portkey_installed()
    if not installed or installed["gateway"] != PORTKEY_VERSION:
        return f"@portkey-ai/gateway {PORTKEY_VERSION} missing after npm install (found {installed})"
    return None


def node_version() -> str:
    try:
        proc = subprocess.run(["node", "--version"], capture_output=True, timeout=30, check=False)
    except OSError:
        return "?"
    return proc.stdout.decode().strip() or "?"


# ---------------------------------------------------------------- PostgreSQL


class Postgres:
    """A fresh database for the PostgreSQL configuration, dropped at the end."""

    def __init__(self) -> None:
        self.name = f"gw_bench_{uuid.uuid4().hex[:12]}"
        self.created = False

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)

    def create(self) -> str:
        from psycopg import sql

        with self._admin() as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self.created = True
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        return base.replace("postgresql://", "postgresql+psycopg://", 1) + "/" + self.name

    def count(self) -> tuple[int, int]:
        """(rows in request_records, rows with status SUCCESS)."""
        import psycopg

        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.name
        with psycopg.connect(url, connect_timeout=3) as connection:
            row = connection.execute(
                "SELECT count(*), count(*) FILTER (WHERE status = 'SUCCESS') FROM request_records").fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def settled_count(self, timeout: float = 20.0) -> tuple[int, int]:
        """The row count once it has not changed for a second (the writer flushes every 0.2 s)."""
        deadline = time.monotonic() + timeout
        last = self.count()
        stable_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            now = self.count()
            if now != last:
                last, stable_since = now, time.monotonic()
            elif time.monotonic() - stable_since >= 1.0:
                break
        return last

    def drop(self) -> None:
        if not self.created:
            return
        from psycopg import sql

        with contextlib.suppress(Exception), self._admin() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))


# ---------------------------------------------------------------- the bench


class Bench:
    def __init__(self, mode: Mode, args: argparse.Namespace) -> None:
        self.mode = mode
        self.args = args
        self.state = State(mode=mode, started=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
        self.tmp = Path(tempfile.mkdtemp(prefix="gw-bench-"))
        self.logs = RESULTS / "logs"
        self.servers: list[Server] = []
        self.postgres: Postgres | None = None
        self.memory = MemoryWatch()
        self.cores = os.cpu_count() or 1
        self.last_pass: dict[str, int] = {}
        self.interference = Interference(self.servers)
        self.retries = 0

    # ------------------------------------------------------------ setup

    def server(self, name: str, argv: list[str], port: int, health: str, env: dict[str, str], workers: int,
               kind: str) -> Server:
        workdir = self.tmp / name
        workdir.mkdir(parents=True, exist_ok=True)
        server = Server(name, argv, port=port, health=health, env=procs.clean_env(env), cwd=workdir,
                        log=self.logs / f"{name}.log", workers=workers, kind=kind)
        self.servers.append(server)
        return server

    def setup(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        loadtools.k6_path()  # fails early when the load tool is missing
        litellm_reason = "skipped (--no-litellm)" if self.args.no_litellm else ensure_litellm(self.logs)
        portkey_reason = "skipped (--no-portkey)" if self.args.no_portkey else ensure_portkey(self.logs)
        self.state.meta["portkey_packages"] = portkey_installed()
        if not GATEWAY_BIN.exists():
            raise SystemExit(f"{GATEWAY_BIN} is missing: run `make install` first")

        mock_port = procs.free_port()
        mock = self.server("mock", [sys.executable, str(BENCH / "mock_upstream.py"), "--port", str(mock_port),
                                    "--procs", str(self.args.mock_procs)],
                           mock_port, "/health", {}, self.args.mock_procs, "mock")
        upstream = mock.base_url
        targets = self.state.targets
        targets["direct"] = Target("direct", "direct", 0, mock, UPSTREAM_KEY)

        worker_counts = sorted({1, self.cores})
        for workers in worker_counts:
            targets[f"gateway-{workers}w"] = self.gateway_target(f"gateway-{workers}w", workers, upstream,
                                                                 f"sqlite:///{self.tmp}/gateway-{workers}w.db",
                                                                 "sqlite")
        pg_url, pg_reason = None, ""
        try:
            self.postgres = Postgres()
            pg_url = self.postgres.create()
        except Exception as exc:  # any driver or server problem: the configuration is reported unavailable
            pg_reason = f"PostgreSQL unavailable at {PG_ADMIN_URL}: {type(exc).__name__}: {str(exc)[:160]}"
        name = f"gateway-{self.cores}w-pg"
        if pg_url:
            targets[name] = self.gateway_target(name, self.cores, upstream, pg_url, "postgresql")
        else:
            targets[name] = Target(name, "gateway", self.cores, None, MASTER_KEY, "postgresql", reason=pg_reason)

        config = self.tmp / "litellm.yaml"
        litellm_config(config, upstream)
        for workers in worker_counts:
            name = f"litellm-{workers}w"
            if litellm_reason:
                targets[name] = Target(name, "litellm", workers, None, MASTER_KEY, reason=litellm_reason)
                continue
            port = procs.free_port()
            env = {"LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
            server = self.server(name, [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config),
                                        "--host", procs.LOOPBACK, "--port", str(port),
                                        "--num_workers", str(workers)], port, "/health/liveliness", env, workers,
                                 "litellm")
            targets[name] = Target(name, "litellm", workers, server, MASTER_KEY)

        # Portkey: one Node process (no cluster/worker option), so one target, compared with 1-worker figures.
        # It has no key of its own: the Bearer key is forwarded to the provider; x-portkey-provider and
        # x-portkey-custom-host route each request (127.0.0.1 is in its default TRUSTED_CUSTOM_HOSTS).
        name = "portkey-1w"
        portkey_headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": upstream + "/v1"}
        if portkey_reason:
            targets[name] = Target(name, "portkey", 1, None, UPSTREAM_KEY, reason=portkey_reason,
                                   headers=portkey_headers)
        else:
            port = procs.free_port()
            server = self.server(name, ["node", "--import", str(PORTKEY_PRELOAD), str(PORTKEY_START), f"--port={port}",
                                        "--headless"], port, "/", {}, 1, "portkey")
            targets[name] = Target(name, "portkey", 1, server, UPSTREAM_KEY, headers=portkey_headers)

        for server in self.servers:
            server.start()
        mock.wait_ready(30)
        for target in targets.values():
            if target.server is None or target.kind == "direct":
                continue
            try:
                target.server.wait_ready(240 if target.kind in PEERS else 90)
            except ServerError as exc:
                target.reason = _one_line(str(exc))
                log(f"{target.name}: not available: {target.reason}")
                target.server.stop()
        self.warm_up()
        self.check_answers()
        self.check_ports_loopback()

    def gateway_target(self, name: str, workers: int, upstream: str, database_url: str, records: str) -> Target:
        port = procs.free_port()
        env = {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_MASTER_KEY": MASTER_KEY, "GATEWAY_LOG_LEVEL": "warning",
               "OPENAI_BASE_URL": upstream + "/v1", "OPENAI_API_KEY": UPSTREAM_KEY}
        server = self.server(name, [str(GATEWAY_BIN), "serve", "--host", procs.LOOPBACK, "--port", str(port),
                                    "--workers", str(workers)], port, "/healthz", env, workers, "gateway")
        return Target(name, "gateway", workers, server, MASTER_KEY, records)

    def check_ports_loopback(self) -> None:
        for target in self.state.targets.values():
            if target.server is not None and target.available:
                assert target.base.startswith("http://127.0.0.1:"), target.base
                for proc in target.server.processes():
                    with contextlib.suppress(Exception):
                        for conn in proc.net_connections(kind="inet"):
                            ip = conn.laddr.ip if conn.laddr else ""
                            if conn.status == "LISTEN" and ip not in ("", "127.0.0.1", "::1"):
                                self.state.warnings.append(f"{target.name} listens on {ip}:{conn.laddr.port}")

    def check_answers(self) -> None:
        """Once per target, the bodies must be the mock's: the chat answer, 1536 embedding floats, and a
        stream of the 64 deltas, the finish chunk, the usage chunk and [DONE] (``meta.answer_check``). A
        target whose chat answer is wrong is taken out (its figures would not be of the same work); other
        differences are warnings."""
        stream_body = orjson.dumps({"model": "openai/stream-fast", "messages": [{"role": "user", "content": "hi"}],
                                    "stream": True, "stream_options": {"include_usage": True}})
        for target in self.live():
            assert target.server is not None
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {target.key}", **target.headers}
            problems: list[str] = []
            fatal = False
            try:
                status, body = procs.http_call(target.server.port, "POST", "/v1/chat/completions", CHAT_BODY, headers)
                content = orjson.loads(body)["choices"][0]["message"]["content"] if status == 200 else body[:200]
                if (status, content) != (200, "Hello from the mock upstream."):
                    problems.append(f"chat: {status} {content!r}")
                    fatal = True
            except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
                problems.append(f"chat: {type(exc).__name__}: {exc}")
                fatal = True
            try:
                status, body = procs.http_call(target.server.port, "POST", "/v1/embeddings", EMBED_BODY, headers)
                size = len(orjson.loads(body)["data"][0]["embedding"]) if status == 200 else 0
                if status != 200 or size != 1536:
                    problems.append(f"embeddings: {status}, {size} values {body[:120]!r}")
            except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
                problems.append(f"embeddings: {type(exc).__name__}: {exc}")
            try:
                status, body = procs.http_call(target.server.port, "POST", "/v1/chat/completions", stream_body, headers)
                events = [e.strip() for e in body.decode().split("\n\n") if e.strip().startswith("data:")]
                payloads = [orjson.loads(e[5:]) for e in events if e != "data: [DONE]"]
                deltas = "".join(c["delta"].get("content") or "" for p in payloads for c in p.get("choices") or [])
                usage = any(p.get("usage") for p in payloads)
                if status != 200 or deltas != "tok" + " tok" * 63 or not events or events[-1] != "data: [DONE]" \
                        or not usage:
                    problems.append(f"stream: {status}, {len(events)} events, {len(deltas)} content chars, "
                                    f"usage chunk {usage} {body[:120]!r}")
            except (OSError, ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError) as exc:
                problems.append(f"stream: {type(exc).__name__}: {exc}")
            self.state.meta.setdefault("answer_check", {})[target.name] = "ok" if not problems else "; ".join(problems)
            if fatal:
                # Not even the plain chat answer: the target does not do the work the others do.
                target.reason = _one_line("wrong answers: " + "; ".join(problems))
                log(f"{target.name}: not available: {target.reason}")
                if target.kind != "direct":
                    target.server.stop()
            elif problems:
                self.state.warnings.append(f"{target.name} answers differ from the mock's: {'; '.join(problems)}")
                log(f"  answers     {target.name:<16} DIFFER: {'; '.join(problems)}")
            else:
                log(f"  answers     {target.name:<16} chat, embeddings (1536 floats) and stream (64 deltas, usage, "
                    "[DONE]) are the mock's")

    def warm_up(self) -> None:
        """A few requests of every kind to every server: imports, pools and caches are warm before timing."""
        headers = {"Content-Type": "application/json"}
        stream_body = orjson.dumps({"model": "openai/stream-fast", "messages": [{"role": "user", "content": "hi"}],
                                    "stream": True, "stream_options": {"include_usage": True}})
        for target in self.live():
            assert target.server is not None
            auth = {**headers, "Authorization": f"Bearer {target.key}", **target.headers}
            try:
                for path, body, count in (("/v1/chat/completions", CHAT_BODY, 50), ("/v1/embeddings", EMBED_BODY, 10),
                                          ("/v1/chat/completions", stream_body, 5)):
                    for _ in range(count):
                        status, payload = procs.http_call(target.server.port, "POST", path, body, auth)
                        if status != 200:
                            raise ServerError(f"warm-up {path} answered {status}: {payload[:200]!r}")
            except (OSError, ServerError) as exc:
                target.reason = _one_line(f"warm-up failed: {exc}")
                log(f"{target.name}: not available: {target.reason}")
                target.server.stop()

    def live(self, kinds: tuple[str, ...] = ("direct", "gateway", "litellm", "portkey")) -> list[Target]:
        return [t for t in self.state.targets.values() if t.available and t.kind in kinds]

    def pick(self, *names: str) -> list[Target]:
        return [self.state.targets[n] for n in names if n in self.state.targets and self.state.targets[n].available]

    # ------------------------------------------------------------ running

    def run(self) -> None:
        self.setup()
        targets = self.state.targets
        for target in targets.values():
            if not target.available:
                self.state.notes.append(f"{target.name}: not available ({target.reason})")
        time.sleep(self.mode.settle)
        for target in self.live(("gateway", *PEERS)):
            assert target.server is not None
            self.state.memory[target.name] = {"idle": target.server.rss(), "after_rounds": []}
        self.idle_cpu()
        self.wait_quiet()
        whole = Interference(self.servers)
        began = time.monotonic()
        self.memory.start()
        try:
            for number in range(1, self.mode.rounds + 1):
                log(f"round {number}/{self.mode.rounds}")
                self.round()
                time.sleep(self.mode.settle)
                for target in self.live(("gateway", *PEERS)):
                    assert target.server is not None
                    self.state.memory.setdefault(target.name, {"idle": None, "after_rounds": []})
                    self.state.memory[target.name]["after_rounds"].append(target.server.rss())
        finally:
            self.memory.close()
        for name, peak in self.memory.peaks.items():
            if name in self.state.memory:
                self.state.memory[name]["peak"] = peak
        foreign, wall = whole.cores(), time.monotonic() - began
        self.state.meta["foreign_cores"] = foreign
        self.state.meta["measure_seconds"] = wall
        self.state.meta["retries"] = self.retries
        if foreign > INTERFERENCE_LIMIT / 2:
            self.state.warnings.append(
                f"other processes on this machine used {foreign:.2f} cores on average during the measurements "
                f"({wall:.0f} s; {self.retries} runs repeated because of it): figures are noisier, and "
                "throughput lower, than on an idle machine")
        if self.args.profile:
            self.profile()

    def round(self) -> None:
        m = self.mode
        n = self.cores
        c1_targets = ("direct", "gateway-1w", "litellm-1w", "portkey-1w")
        self.each("c1_chat", c1_targets, lambda t: self.vus(t, t.chat_url, CHAT_BODY, 1, m.c1_seconds).as_dict())
        self.each("c1_embed", c1_targets, lambda t: self.vus(t, t.embed_url, EMBED_BODY, 1, m.c1_seconds).as_dict())
        self.each("c1_ttft", c1_targets, lambda t: self.streams(t, "openai/stream-fast", 1, m.ttft_seconds))
        tp_targets = ["direct", "gateway-1w", "litellm-1w", "portkey-1w"]
        if n > 1:
            tp_targets += [f"gateway-{n}w", f"litellm-{n}w"]
        tp_targets.append(f"gateway-{n}w-pg")
        self.each("throughput", tuple(tp_targets), self.search)
        # Portkey has no workers: its one process runs beside the N-worker servers here.
        self.each("lat50", ("direct", f"gateway-{n}w", f"litellm-{n}w", "portkey-1w"),
                  lambda t: self.vus(t, t.chat_url, LATENCY50_BODY, m.lat50_concurrency, m.lat50_seconds).as_dict())
        for level in m.stream_levels:
            names = ["direct", f"gateway-{n}w"]
            if level in m.litellm_stream_levels:
                names += [f"litellm-{n}w", "portkey-1w"]
            self.each(f"streams_{level}", tuple(names),
                      lambda t, level=level: self.streams(t, "openai/stream", level, 0.0, m.stream_ramp))
        pg = self.pick(f"gateway-{n}w-pg")
        if pg:
            self.each("parity", (pg[0].name,), self.parity)

    def each(self, test: str, names: tuple[str, ...], work: Callable[[Target], Any]) -> None:
        for target in self.pick(*names):
            server = None if target.kind == "direct" else target.server
            if target.server is not None and not target.server.alive():
                self.state.warnings.append(f"{target.name} died during the run; later figures are missing")
                target.reason = "died during the run"
                continue
            retry = test not in ("throughput", "parity")  # the search repeats its own steps
            with self.memory.loading(server):
                try:
                    value = self.measured(lambda target=target: work(target), retry=retry)
                except (ToolError, subprocess.TimeoutExpired) as exc:
                    value = {"error": _one_line(str(exc))}
                    self.state.warnings.append(f"{test} on {target.name}: {value['error']}")
            self.state.add(test, target.name, value)
            log(f"  {test:<12} {target.name:<16} {_brief(value)}")

    def measured(self, work: Callable[[], Any], retry: bool = True,
                 accept: Callable[[Any], bool] | None = None) -> Any:
        """Run ``work``; when other processes kept more than ``INTERFERENCE_LIMIT`` cores busy meanwhile
        (and, with ``accept``, the result is not accepted), run it again, at most ``MAX_RETRIES`` times,
        and keep the run with the least interference. The interference is stored in the result."""
        best: tuple[float, Any] | None = None
        for attempt in range(MAX_RETRIES + 1):
            self.interference.restart()
            value = work()
            foreign = self.interference.cores()
            if isinstance(value, dict):
                value["interference"] = round(foreign, 3)
            if best is None or foreign < best[0]:
                best = (foreign, value)
            clean = foreign <= INTERFERENCE_LIMIT or (accept is not None and accept(value))
            if clean or not retry or attempt == MAX_RETRIES or self.retries >= self.mode.retry_budget:
                break
            self.retries += 1
            time.sleep(1.0)
        assert best is not None
        return best[1]

    def idle_cpu(self, seconds: float = 2.0) -> None:
        """Note servers that keep a CPU busy while nobody talks to them (they compete with the others)."""
        before = {s.name: s.cpu_seconds() for s in self.servers if s.alive()}
        time.sleep(seconds)
        for server in self.servers:
            if server.name in before:
                cores = (server.cpu_seconds() - before[server.name]) / seconds
                self.state.meta.setdefault("idle_cpu", {})[server.name] = round(cores, 4)
                if cores > 0.02:
                    self.state.notes.append(f"{server.name} uses {cores:.1%} of a core while idle")

    def wait_quiet(self) -> None:
        """Wait (bounded) until other processes leave the machine nearly idle, so runs start clean."""
        deadline = time.monotonic() + self.mode.quiet_wait
        probe = Interference(self.servers)
        while True:
            probe.restart()
            time.sleep(2.0)
            foreign = probe.cores()
            if foreign <= INTERFERENCE_LIMIT:
                return
            if time.monotonic() >= deadline:
                self.state.notes.append(f"the machine was not quiet at the start (other processes: {foreign:.2f} "
                                        f"cores after waiting {self.mode.quiet_wait:.0f} s)")
                return
            log(f"waiting for a quieter machine: other processes use {foreign:.2f} cores")

    def vus(self, target: Target, url: str, body: bytes, concurrency: int, seconds: float) -> LoadResult:
        return loadtools.fixed_concurrency(url, body, target.key, concurrency, seconds, self.tmp / "k6",
                                           extra_headers=target.headers)

    def streams(self, target: Target, model: str, concurrency: int, seconds: float,
                ramp: float = 0.0) -> dict[str, Any]:
        """One stream-client run; also the CPU the server under test (for direct: the mock) used meanwhile, per
        SSE event the client received (``cpu_us_per_event``; it includes the server's idle housekeeping
        over the run, which is next to nothing, see ``idle_cpu``)."""
        server = target.server
        cpu_before = server.cpu_seconds() if server is not None else 0.0
        result = loadtools.streams(target.chat_url, target.key, model, concurrency, seconds, timeout_s=60.0,
                                   stagger=ramp, extra_headers=target.headers)
        if server is not None:
            cpu = server.cpu_seconds() - cpu_before
            result["server_cpu_s"] = round(cpu, 4)
            events = result.get("events") or 0
            result["cpu_us_per_event"] = round(cpu / events * 1e6, 2) if events else None
        return result

    def search(self, target: Target) -> dict[str, Any]:
        """The highest fixed arrival rate (k6 constant-arrival-rate) with p99 < 50 ms and errors < 0.1 %:
        double until a rate fails (halve until one passes), then bisect until the failing rate is within
        ``precision`` of the passing one. Starts from the target's result in the previous round."""
        m = self.mode
        rate = self.last_pass.get(target.name) or SEARCH_START[target.kind]
        lo: dict[str, Any] | None = None
        hi: int | None = None
        steps: list[dict[str, Any]] = []
        for _ in range(m.max_steps):
            def step(rate: int = rate) -> dict[str, Any]:
                result = loadtools.fixed_rate(target.chat_url, CHAT_BODY, target.key, rate, m.step_seconds,
                                              self.tmp / "k6", extra_headers=target.headers)
                passed = result.requests > 0 and result.p99 < P99_BOUND_MS and result.error_rate < ERROR_BOUND
                return {**result.as_dict(), "pass": passed}

            # A step that fails while other processes were busy is run again (a pass stands: interference
            # can only make a server look slower).
            steps.append(self.measured(step, accept=lambda value: bool(value["pass"])))
            passed = steps[-1]["pass"]
            if passed and (lo is None or rate > lo["rate"]):
                lo = steps[-1]
            elif not passed and (hi is None or rate < hi):
                hi = rate
            if lo is not None and hi is not None and hi <= lo["rate"] * (1 + m.precision):
                break
            if hi is None:
                if rate >= SEARCH_MAX_RATE:
                    break
                rate = min(SEARCH_MAX_RATE, rate * 2)
            elif lo is None:
                rate //= 2
                if rate < 5:
                    break
            else:
                rate = (lo["rate"] + hi) // 2
        if lo is not None:
            self.last_pass[target.name] = lo["rate"]
        return {"best_rps": lo["rps"] if lo else 0.0, "best_rate": lo["rate"] if lo else None,
                "p99_at_best": lo["p99"] if lo else None, "first_failing_rate": hi, "steps": steps,
                "capped": lo is not None and lo["rate"] >= SEARCH_MAX_RATE}

    def parity(self, target: Target) -> dict[str, Any]:
        assert self.postgres is not None
        before = self.postgres.settled_count()
        result = loadtools.fixed_count(target.chat_url, CHAT_BODY, target.key, self.mode.parity_requests, 32,
                                       self.tmp / "k6")
        after = self.postgres.settled_count()
        rows, success_rows = after[0] - before[0], after[1] - before[1]
        return {"sent": self.mode.parity_requests, "answered": result.requests, "ok_2xx": result.ok_2xx,
                "failed": result.errors, "rows": rows, "success_rows": success_rows, "rps": result.rps,
                "exact": result.requests == self.mode.parity_requests and rows == result.requests
                and success_rows == result.ok_2xx}

    # ------------------------------------------------------------ profile

    def profile(self) -> None:
        """py-spy on the 1-worker gateway: non-stream chat at a fixed rate (k6), then 300 concurrent streams."""
        targets = self.pick("gateway-1w")
        spy = Path(sys.executable).parent / "py-spy"
        if not targets or not spy.exists():
            self.state.notes.append("profile skipped: gateway-1w or py-spy missing")
            return
        target = targets[0]
        assert target.server is not None
        pid = target.server.worker_pids()[0]
        seconds = self.mode.profile_seconds
        rate = int(0.7 * (self.last_pass.get(target.name) or 500))
        for label, load in (("chat", lambda: loadtools.fixed_rate(target.chat_url, CHAT_BODY, target.key, rate,
                                                                  2 * seconds + 4, self.tmp / "k6")),
                            ("stream", lambda: self.streams(target, "openai/stream", 300, 2 * seconds + 2, 0.5))):
            log(f"profiling gateway-1w ({label}) with py-spy for {2 * seconds} s")
            suffix = "" if label == "chat" else "-stream"
            outputs = ((RESULTS / f"profile{suffix}.svg", "flamegraph"), (self.logs / f"profile{suffix}.txt", "raw"))
            with _background(load):
                time.sleep(1.5)
                for path, fmt in outputs:
                    subprocess.run([str(spy), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200",
                                    "--gil", "--format", fmt, "--output", str(path)], capture_output=True,
                                   timeout=seconds + 60, check=False)
            raw = self.logs / f"profile{suffix}.txt"
            if raw.exists():
                (RESULTS / f"profile{suffix}.md").write_text(report.profile_summary(raw, label))

    # ------------------------------------------------------------ teardown

    def close(self) -> None:
        for server in reversed(self.servers):
            server.stop()
        if self.postgres is not None:
            self.postgres.drop()
        shutil.rmtree(self.tmp, ignore_errors=True)


@contextlib.contextmanager
def _background(work: Callable[[], Any]) -> Iterator[None]:
    import threading

    def target() -> None:
        with contextlib.suppress(Exception):
            work()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(120)


def _one_line(text: str, limit: int = 240) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    first = lines[0]
    last = lines[-1] if len(lines) > 1 else ""
    joined = first if not last or last == first else f"{first} ... {last}"
    return joined[:limit]


def _brief(value: Any) -> str:
    if not isinstance(value, dict):
        return str(value)[:100]
    if "error" in value:
        return "ERROR " + value["error"][:100]
    if "best_rps" in value:
        return (f"best {value['best_rps']:.0f} req/s at rate {value['best_rate']} (p99 {_ms(value['p99_at_best'])} "
                f"ms; first failing rate {value['first_failing_rate']}; {len(value['steps'])} steps)")
    if "gap_ms" in value:
        g, f = value["gap_ms"], value["ttft_ms"]
        return (f"{value['ok']}/{value['streams']} ok, peak open {value.get('peak_open')}, ttft p50 {_ms(f['p50'])} "
                f"p99 {_ms(f['p99'])}, gap p99 {_ms(g['p99'])} max {_ms(g['max'])}, stalls {value['stalls']}")
    if "rows" in value:
        return f"2xx {value['ok_2xx']}/{value['sent']}, rows {value['rows']}, exact {value['exact']}"
    return f"{value['rps']:.0f} req/s, p50 {value['p50']:.3f} ms, p99 {value['p99']:.3f} ms, errors {value['errors']}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Gateway vs LiteLLM vs Portkey vs direct, on this machine.")
    parser.add_argument("--quick", action="store_true", help="2 short rounds (~3 minutes)")
    parser.add_argument("--rounds", type=int, help="override the number of rounds")
    parser.add_argument("--no-litellm", action="store_true", help="do not install or run LiteLLM")
    parser.add_argument("--no-portkey", action="store_true", help="do not install or run the Portkey gateway")
    parser.add_argument("--profile", action="store_true", help="also py-spy the 1-worker gateway under load")
    parser.add_argument("--mock-procs", type=int, default=1, help="mock upstream processes (SO_REUSEPORT)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.md/.json/.png go")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = QUICK if args.quick or os.environ.get("BENCH_QUICK") in ("1", "true", "yes") else FULL
    if args.rounds:
        mode = replace(mode, rounds=max(1, args.rounds))
    global RESULTS
    RESULTS = args.out.resolve()
    RESULTS.mkdir(parents=True, exist_ok=True)

    def on_signal(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    began = time.monotonic()
    bench = Bench(mode, args)
    state = bench.state
    state.meta.update({
        "cores": bench.cores, "python": platform.python_version(), "load_before": os.getloadavg(),
        "gateway_commit": _git_commit(), "litellm_version": LITELLM_VERSION,
        "portkey_version": PORTKEY_VERSION, "node": node_version(), "tools": loadtools.tool_versions(),
        "machine": f"{platform.system()} {platform.machine()}, {bench.cores} cores",
    })
    log(f"bench mode {mode.name}: {mode.rounds} round(s); results in {RESULTS}")
    try:
        bench.run()
    except KeyboardInterrupt:
        log("interrupted: stopping every process")
        raise
    finally:
        bench.close()
    state.meta["load_after"] = os.getloadavg()
    state.meta["elapsed_s"] = time.monotonic() - began
    summary = report.summarize(state, P99_BOUND_MS, ERROR_BOUND, STALL_MS, PACE_MS)
    try:
        report.chart(summary, RESULTS / "latest.png")
    except Exception as exc:  # the chart is a convenience; the table is the result
        summary["warnings"].append(f"chart not drawn: {type(exc).__name__}: {exc}")
    markdown = report.markdown(state, summary)
    (RESULTS / "latest.md").write_text(markdown)
    (RESULTS / "latest.json").write_bytes(orjson.dumps(
        {"mode": mode.__dict__, "meta": state.meta, "notes": state.notes, "warnings": state.warnings,
         "memory": state.memory, "data": state.data, "summary": summary,
         "targets": {k: {"kind": t.kind, "workers": t.workers, "records": t.records, "reason": t.reason}
                     for k, t in state.targets.items()}},
        option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    print()
    print(markdown)
    log(f"done in {state.meta['elapsed_s'] / 60:.1f} min: {RESULTS / 'latest.md'}")
    return 0


def _git_commit() -> str:
    try:
        proc = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              timeout=10, check=False)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "gateway"],
                               capture_output=True, timeout=10, check=False).stdout.strip()
    except OSError:
        return "?"
    return proc.stdout.decode().strip() + (" (gateway/ has uncommitted changes)" if dirty else "")


if __name__ == "__main__":
    sys.exit(main())
