"""A bounded soak: ``SOAK_SECONDS`` (default 180) of mixed traffic against a running gateway.

Run with ``.venv/bin/pytest -m soak -s tests/soak`` (``SOAK_SECONDS=30`` for a short run).
A fixed pool of async workers sends chat, streamed chat (some abandoned after the first
chunk), tool calls and embeddings; the fake upstream answers by a marker in the prompt with
a 429, a 500 or an error inside the stream. At the end it prints what was served, the
outcomes by kind, records written versus requests sent, and the process's resident memory
(the gateway and the fake run in this process, in threads), and asserts one record per
request, no unexpected outcome, and RSS growth under ``SOAK_MAX_RSS_GROWTH_MB`` (100).
"""

from __future__ import annotations

import asyncio
import collections
import gc
import os
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from tests.conftest import RunningGateway, make_settings
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, chunk, openai_error, text_stream
from tests.fakes.server import Scripted, sse

pytestmark = pytest.mark.soak

SECONDS = float(os.environ.get("SOAK_SECONDS", "180"))
MAX_RSS_GROWTH_MB = float(os.environ.get("SOAK_MAX_RSS_GROWTH_MB", "100"))
WORKERS = 24
MODEL = "openai/gpt-4o-mini"
TOOL: dict[str, Any] = {"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


class SoakUpstream(FakeOpenAI):
    """The fake OpenAI server, scripted per request by a marker in the last user message
    (safe under concurrency, unlike a shared queue), keeping only its last 100 requests."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = collections.deque(maxlen=100)  # type: ignore[assignment]

    def _chat(self, request: Request, body: Any) -> Scripted:
        text = str(body.get("messages", [{}])[-1].get("content", ""))
        if "FAULT-429" in text:
            return openai_error(429, "Rate limit reached", "requests", "rate_limit_exceeded", {"retry-after": "0"})
        if "FAULT-500" in text:
            return openai_error(500, "The server had an error", "server_error")
        if "FAULT-INSTREAM" in text:
            frames = sse([chunk({"role": "assistant", "content": "partial"}),
                          {"error": {"message": "upstream exploded", "type": "server_error"}}])
            return Scripted(stream=frames, media_type="text/event-stream")
        if "SLOW" in text:
            return Scripted(stream=text_stream(["word "] * 60, usage=True), gap=0.01, media_type="text/event-stream")
        return super()._chat(request, body)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def chat_body(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}], **extra}


async def _stream(client: httpx.AsyncClient, body: dict[str, Any], abandon: bool = False) -> str:
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            await response.aread()
            return f"http_{response.status_code}"
        saw_error = saw_done = False
        async for line in response.aiter_lines():
            if abandon and line.startswith("data: "):
                return "client_disconnect"
            saw_error = saw_error or line.startswith('data: {"error"')
            saw_done = saw_done or line == "data: [DONE]"
        return "in_stream_error" if saw_error else "ok" if saw_done else "stream_without_done"


async def _json(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    response = await client.post(path, json=body)
    return "ok" if response.status_code == 200 else f"http_{response.status_code}"


Action = Callable[[httpx.AsyncClient], Awaitable[str]]
ACTIONS: list[tuple[str, int, Action, set[str]]] = [
    ("chat", 30, lambda c: _json(c, "/v1/chat/completions", chat_body("hello there")), {"ok"}),
    ("stream", 22, lambda c: _stream(c, chat_body("hello stream", stream=True,
                                                  stream_options={"include_usage": True})), {"ok"}),
    ("tool_stream", 5, lambda c: _stream(c, chat_body("weather?", stream=True, tools=[TOOL],
                                                      tool_choice={"type": "function",
                                                                   "function": {"name": "get_weather"}})), {"ok"}),
    ("embeddings", 15, lambda c: _json(c, "/v1/embeddings", {"model": "openai/text-embedding-3-small",
                                                              "input": ["a b", "c"]}), {"ok"}),
    ("upstream_429", 5, lambda c: _json(c, "/v1/chat/completions", chat_body("FAULT-429")), {"http_429"}),
    ("upstream_500", 5, lambda c: _json(c, "/v1/chat/completions", chat_body("FAULT-500")), {"http_502"}),
    ("in_stream_error", 5, lambda c: _stream(c, chat_body("FAULT-INSTREAM", stream=True)), {"in_stream_error"}),
    ("disconnect", 8, lambda c: _stream(c, chat_body("SLOW", stream=True), abandon=True), {"client_disconnect"}),
]


class Tally:
    def __init__(self) -> None:
        self.sent = 0
        self.outcomes: Counter[str] = Counter()
        self.unexpected: Counter[str] = Counter()


async def _worker(client: httpx.AsyncClient, rng: random.Random, deadline: float, tally: Tally) -> None:
    names = [a[0] for a in ACTIONS]
    weights = [a[1] for a in ACTIONS]
    table = {a[0]: a for a in ACTIONS}
    while time.monotonic() < deadline:
        name = rng.choices(names, weights)[0]
        _, _, action, expected = table[name]
        tally.sent += 1
        try:
            outcome = await action(client)
        except httpx.HTTPError as exc:
            outcome = f"transport_{type(exc).__name__}"
        tally.outcomes[outcome] += 1
        if outcome not in expected:
            tally.unexpected[f"{name}->{outcome}"] += 1


async def _drive(url: str, seconds: float, tally: Tally, seed: int) -> None:
    limits = httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(_worker(client, random.Random(seed + i), deadline, tally) for i in range(WORKERS)))


def _records_settle(gw: RunningGateway, expected: int, timeout: float = 20) -> int:
    """Rows in the database once cancelled streams have been recorded and the writer flushed."""
    deadline = time.monotonic() + timeout
    while True:
        gw.flush()
        count: int = gw.app.state.activity.count()
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


def test_soak(tmp_path: Path) -> None:
    fake = SoakUpstream().start()
    env = {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}
    gw = RunningGateway(make_settings(tmp_path, env, max_retries=1, retry_base_delay=0.01, retry_max_delay=0.05))
    try:
        warmup, tally = Tally(), Tally()
        asyncio.run(_drive(gw.url, min(10.0, max(2.0, SECONDS / 10)), warmup, seed=1))
        gc.collect()
        rss_start, started = rss_mb(), time.monotonic()
        asyncio.run(_drive(gw.url, SECONDS, tally, seed=1000))
        elapsed = time.monotonic() - started
        sent = warmup.sent + tally.sent
        records = _records_settle(gw, sent)
        gc.collect()
        rss_end = rss_mb()
        with sqlite3.connect(tmp_path / "gateway.db") as db:
            statuses = dict(db.execute("SELECT status, count(*) FROM request_records GROUP BY status").fetchall())
        outcomes = warmup.outcomes + tally.outcomes
        print(f"\nsoak: {tally.sent} requests in {elapsed:.0f} s ({tally.sent / elapsed:.0f}/s, "
              f"{WORKERS} workers) after {warmup.sent} warm-up requests")
        print(f"outcomes: {dict(sorted(tally.outcomes.items()))}")
        print(f"unexpected: {dict(tally.unexpected) or 'none'}")
        print(f"records written: {records} for {sent} requests sent (writer: {gw.app.state.writer.stats})")
        print(f"records by status: {statuses}")
        print(f"RSS: {rss_start:.1f} MB at the start, {rss_end:.1f} MB at the end ({rss_end - rss_start:+.1f} MB)")
        assert tally.sent > 0 and not tally.unexpected
        assert records == sent
        assert statuses.get("CANCELLED", 0) == outcomes["client_disconnect"]
        assert statuses.get("FAILED", 0) == outcomes["http_429"] + outcomes["http_502"] + outcomes["in_stream_error"]
        assert rss_end - rss_start < MAX_RSS_GROWTH_MB
    finally:
        gw.stop()
        fake.stop()
