"""What sending streams through sse-starlette costs against the lean relay it replaced.

N concurrent streams of M pre-framed events each are driven, in process, through an ASGI
``send`` that only counts bytes: once with ``LeanSSEResponse`` (the gateway's relay before
keep-alive pings: one ``send`` per frame, one disconnect watcher task) and once with
``gateway.api.sse.SSEResponse`` (sse-starlette's ``EventSourceResponse``: a task group with a
stream, ping, shutdown and disconnect task per stream; its per-send timeout scope skipped), pings
on at the default interval. Every frame waits one event-loop turn first, as a relayed upstream chunk does. The
figure is process CPU time per event (median of rounds, the two interleaved); prints the
figures and their ratio, asserts nothing about time.

    .venv/bin/python bench/sse_cost.py [--streams N] [--events M] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starlette.responses import Response  # noqa: E402
from starlette.types import Message, Receive, Scope, Send  # noqa: E402

from gateway.api.sse import SSE_HEADERS, SSEResponse  # noqa: E402

FRAME = (b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk",'
         b'"choices":[{"index":0,"delta":{"content":"word "}}]}\n\n')
SCOPE: Scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}


class LeanSSEResponse(Response):
    """The relay's own SSE response before sse-starlette came back (commit e67a2ba), kept as the baseline."""

    media_type = "text/event-stream"

    def __init__(self, frames: AsyncGenerator[bytes, None], headers: Mapping[str, str] | None = None) -> None:
        self.frames = frames
        self.status_code = 200
        self.background = None
        self.init_headers({**SSE_HEADERS, **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        relay = asyncio.current_task()
        assert relay is not None
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()
            relay.cancel()

        watcher = asyncio.create_task(watch())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for frame in self.frames:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not gone.is_set():
                raise
            relay.uncancel()
        finally:
            watcher.cancel()
            await self.frames.aclose()


async def _frames(events: int) -> AsyncGenerator[bytes, None]:
    for _ in range(events):
        await asyncio.sleep(0)
        yield FRAME


async def _one(make: Callable[[AsyncGenerator[bytes, None]], Response], events: int, sent: list[int]) -> None:
    done = asyncio.Event()

    async def receive() -> Message:
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent[0] += len(message.get("body", b""))

    try:
        await make(_frames(events))(SCOPE, receive, send)
    finally:
        done.set()


async def _round(make: Callable[[AsyncGenerator[bytes, None]], Response], streams: int, events: int) -> float:
    """CPU seconds per event for ``streams`` concurrent streams of ``events`` events."""
    sent = [0]
    gc.collect()
    started = time.process_time()
    await asyncio.gather(*(_one(make, events, sent) for _ in range(streams)))
    cpu = time.process_time() - started
    assert sent[0] == streams * events * len(FRAME)
    return cpu / (streams * events)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CPU per event: sse-starlette against the lean relay.")
    parser.add_argument("--streams", type=int, default=300)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    kinds: dict[str, Callable[[AsyncGenerator[bytes, None]], Response]] = {
        "lean relay": LeanSSEResponse,
        "sse-starlette": SSEResponse,
    }
    results: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(args.rounds):
        for name, make in kinds.items():
            results[name].append(asyncio.run(_round(make, args.streams, args.events)))
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"SSE cost, {args.streams} concurrent streams x {args.events} events, median of {args.rounds} rounds")
    for name, value in medians.items():
        print(f"  {name:14} {value * 1e6:7.2f} us CPU per event")
    print(f"  ratio sse-starlette / lean relay: {medians['sse-starlette'] / medians['lean relay']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
