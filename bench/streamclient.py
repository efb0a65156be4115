"""Concurrent Server-Sent-Event streams, timed at the socket: time to first event and inter-event gaps.

A raw asyncio client on uvloop (the cheapest client Python has, so that on a 2-core machine the
measuring side steals as little CPU as it can): ``--streams`` connections, opened over
``--stagger`` seconds, each send chat-completion requests with ``stream: true`` one after another,
keep-alive, until ``--duration`` seconds have passed (at least one each; ``--duration 0``: exactly
one each). Each response is decoded (status line,
headers, chunked or length-delimited body) and every SSE event is timestamped when the read that
completes it returns. Prints one JSON object:

``streams``/``ok``/``failed``/``errors``, ``ttft_ms`` and ``gap_ms`` percentiles, ``stalls``
(gaps longer than ``--stall-ms``), ``short`` (streams with fewer than ``--min-events`` events),
``peak_open`` (the most streams open at the same time).

    python bench/streamclient.py --url http://127.0.0.1:8000/v1/chat/completions --streams 100
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import sys
import time
from collections import Counter
from typing import Any, cast
from urllib.parse import urlsplit

import orjson


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of ``values`` (``None`` when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


class Response:
    """What one stream produced."""

    __slots__ = ("complete", "done_seen", "error", "events", "sent", "status")

    def __init__(self, sent: float) -> None:
        self.sent = sent
        self.status = 0
        self.events: list[float] = []
        self.done_seen = False
        self.complete = False
        self.error: str | None = None


class StreamProtocol(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.response: Response | None = None
        self.finished: asyncio.Future[Response] | None = None
        self.state = "idle"
        self.chunked = False
        self.remaining = -1
        self.close_after = False
        self.tail = b""
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.response is not None and self.state == "body" and not self.chunked and self.remaining < 0:
            self._finish()
        elif self.response is not None:
            self._fail("connection closed mid-response")
        if not self.closed.done():
            self.closed.set_result(None)

    def send(self, request: bytes) -> asyncio.Future[Response]:
        loop = asyncio.get_running_loop()
        self.response = Response(time.perf_counter())
        self.finished = loop.create_future()
        self.state = "head"
        self.buffer.clear()
        self.tail = b""
        assert self.transport is not None
        self.transport.write(request)
        return self.finished

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if self.response is None:
            return
        self.buffer += data
        try:
            self._parse(now)
        except (ValueError, IndexError) as exc:
            self._fail(f"bad response: {exc}")
            if self.transport is not None:
                self.transport.close()

    def _parse(self, now: float) -> None:
        while self.response is not None:
            if self.state == "head":
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
                del self.buffer[:end + 4]
                self.response.status = int(lines[0].split(" ", 2)[1])
                self.chunked, self.remaining, self.close_after = False, -1, False
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    name, value = name.strip().lower(), value.strip().lower()
                    if name == "transfer-encoding" and "chunked" in value:
                        self.chunked = True
                    elif name == "content-length":
                        self.remaining = int(value)
                    elif name == "connection" and value == "close":
                        self.close_after = True
                self.state = "body"
                if not self.chunked and self.remaining == 0:
                    self._finish()
                continue
            if self.chunked:
                if not self._chunk(now):
                    return
                continue
            payload = bytes(self.buffer) if self.remaining < 0 else bytes(self.buffer[:self.remaining])
            del self.buffer[:len(payload)]
            self._payload(payload, now)
            if self.remaining >= 0:
                self.remaining -= len(payload)
                if self.remaining == 0:
                    self._finish()
            return

    def _chunk(self, now: float) -> bool:
        """Consume one chunk of a chunked body; False when more bytes are needed."""
        line_end = self.buffer.find(b"\r\n")
        if line_end < 0:
            return False
        size = int(bytes(self.buffer[:line_end]).split(b";", 1)[0], 16)
        if size == 0:
            if len(self.buffer) < line_end + 4:
                return False
            del self.buffer[:line_end + 4]
            self._finish()
            return True
        if len(self.buffer) < line_end + 2 + size + 2:
            return False
        payload = bytes(self.buffer[line_end + 2:line_end + 2 + size])
        del self.buffer[:line_end + 2 + size + 2]
        self._payload(payload, now)
        return True

    def _payload(self, payload: bytes, now: float) -> None:
        response = self.response
        if response is None or not payload:
            return
        joined = self.tail + payload
        count = joined.count(b"\n\n") - self.tail.count(b"\n\n")
        response.events.extend([now] * count)
        if b"[DONE]" in payload:
            response.done_seen = True
        self.tail = joined[-1:]

    def _finish(self) -> None:
        response, future = self.response, self.finished
        self.response, self.finished, self.state = None, None, "idle"
        if response is not None:
            response.complete = True
        if future is not None and not future.done() and response is not None:
            future.set_result(response)
        if self.close_after and self.transport is not None:
            self.transport.close()

    def _fail(self, reason: str) -> None:
        response, future = self.response, self.finished
        self.response, self.finished, self.state = None, None, "idle"
        if response is not None:
            response.error = reason
        if future is not None and not future.done() and response is not None:
            future.set_result(response)


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        url = urlsplit(args.url)
        if url.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("streamclient: loopback targets only")
        self.host = url.hostname
        self.port = url.port or 80
        body = orjson.dumps({"model": args.model, "messages": [{"role": "user", "content": "hello"}],
                             "stream": True, "stream_options": {"include_usage": True}})
        headers = [f"POST {url.path or '/'} HTTP/1.1", f"Host: {url.netloc}", "Content-Type: application/json",
                   "Accept: text/event-stream", f"Content-Length: {len(body)}"]
        if args.key:
            headers.append(f"Authorization: Bearer {args.key}")
        for header in args.header:
            name, sep, value = header.partition(":")
            if not sep or not name.strip() or "\r" in header or "\n" in header:
                raise SystemExit(f"streamclient: bad --header {header!r} (want 'Name: value')")
            headers.append(f"{name.strip()}: {value.strip()}")
        self.request = ("\r\n".join(headers) + "\r\n\r\n").encode() + body
        self.args = args
        self.results: list[Response] = []
        self.errors: Counter[str] = Counter()

    async def slot(self, index: int, start: float, deadline: float, hard: float) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, start + self.args.stagger * index / max(1, self.args.streams) - loop.time()))
        protocol: StreamProtocol | None = None
        try:
            while True:
                if protocol is None or protocol.transport is None or protocol.transport.is_closing():
                    try:
                        _, protocol = await asyncio.wait_for(
                            loop.create_connection(StreamProtocol, self.host, self.port), 10)
                    except (OSError, TimeoutError) as exc:
                        self.errors[f"connect: {type(exc).__name__}"] += 1
                        await asyncio.sleep(0.05)
                        if loop.time() >= deadline:
                            return
                        continue
                future = protocol.send(self.request)
                try:
                    response = await asyncio.wait_for(future, max(0.1, hard - loop.time()))
                except TimeoutError:
                    self.errors["timeout (response not finished)"] += 1
                    if protocol.response is not None:
                        protocol.response.error = "timeout"
                        self.results.append(protocol.response)
                    return
                self.results.append(response)
                if loop.time() >= deadline:
                    return
        finally:
            if protocol is not None and protocol.transport is not None:
                protocol.transport.close()

    async def main(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        deadline = start + self.args.duration
        hard = deadline + self.args.timeout
        began = time.perf_counter()
        await asyncio.gather(*(self.slot(i, start, deadline, hard) for i in range(self.args.streams)))
        return self.summary(time.perf_counter() - began)

    def summary(self, wall: float) -> dict[str, Any]:
        ttft: list[float] = []
        gaps: list[float] = []
        ok = short = events_total = 0
        for response in self.results:
            if response.error:
                self.errors[response.error] += 1
                continue
            if response.status != 200:
                self.errors[f"http {response.status}"] += 1
                continue
            if not response.done_seen:
                self.errors["no [DONE]"] += 1
                continue
            ok += 1
            events = response.events
            events_total += len(events)
            if len(events) < self.args.min_events:
                short += 1
            if events:
                ttft.append((events[0] - response.sent) * 1000)
                gaps.extend((b - a) * 1000 for a, b in itertools.pairwise(events))

        def pcts(values: list[float]) -> dict[str, float | None]:
            return {"p50": percentile(values, 50), "p90": percentile(values, 90), "p99": percentile(values, 99),
                    "p999": percentile(values, 99.9), "max": max(values) if values else None}
        return {
            "streams": len(self.results), "ok": ok, "failed": len(self.results) - ok,
            "errors": dict(self.errors), "short": short, "ttft_ms": pcts(ttft), "gap_ms": pcts(gaps),
            "stalls": sum(1 for g in gaps if g > self.args.stall_ms), "gaps": len(gaps), "events": events_total,
            "wall_s": wall,
            "concurrency": self.args.streams, "peak_open": self.peak_open(),
        }

    def peak_open(self) -> int:
        """The most streams open at once (from request sent to last event received)."""
        edges: list[tuple[float, int]] = []
        for response in self.results:
            if response.events:
                edges += [(response.sent, 1), (response.events[-1], -1)]
        peak = current = 0
        for _, step in sorted(edges):
            current += step
            peak = max(peak, current)
        return peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the chat completions URL (loopback only)")
    parser.add_argument("--model", default="openai/stream")
    parser.add_argument("--key", default="")
    parser.add_argument("--header", action="append", default=[], help="an extra request header, 'Name: value'")
    parser.add_argument("--streams", type=int, default=100, help="concurrent streams (connections)")
    parser.add_argument("--duration", type=float, default=3.0, help="start new streams for this many seconds")
    parser.add_argument("--timeout", type=float, default=60.0, help="grace after --duration for open streams")
    parser.add_argument("--stagger", type=float, default=0.2, help="spread the first requests over this many s")
    parser.add_argument("--stall-ms", type=float, default=220.0, help="a gap longer than this is a stall")
    parser.add_argument("--min-events", type=int, default=64)
    args = parser.parse_args(argv)
    import uvloop

    result = uvloop.run(Run(args).main())
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
