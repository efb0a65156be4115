"""A fast mock OpenAI upstream: raw asyncio HTTP/1.1 on uvloop, no framework.

Profiles are chosen by the request's ``model`` (an ``openai/`` prefix is ignored):

* ``instant``     - the answer at once (JSON; or, with ``stream: true``, 64 deltas back to back);
* ``latency50``   - the same answer after 50 ms;
* ``stream``      - with ``stream: true``: 64 content deltas paced 20 ms apart (the first at once),
  then the finish chunk, the usage chunk (when ``stream_options.include_usage``) and ``[DONE]``;
  without ``stream``: like ``instant``;
* ``stream-fast`` - the same 64 deltas with no pacing (for time-to-first-token at concurrency 1).

Endpoints: ``POST /v1/chat/completions``, ``POST /v1/embeddings`` (1536 dimensions, floats or
base64), ``GET /v1/models``, ``GET /health``. Only ``Content-Length`` request bodies; keep-alive
unless the client sends ``Connection: close``. Requests on one connection are answered in order.

    python bench/mock_upstream.py --port 9000 [--procs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import signal
import socket
import struct
import sys
from typing import Any, cast

import orjson

DELTAS = 64
PACE = 0.020
LATENCY = 0.050
DIMENSIONS = 1536
MAX_HEAD = 64 * 1024
MAX_BODY = 32 * 1024 * 1024


def _completion(model: str) -> bytes:
    return orjson.dumps({
        "id": "chatcmpl-mock", "object": "chat.completion", "created": 1_700_000_000, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the mock upstream.",
                                             "refusal": None}, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 8, "completion_tokens": 7, "total_tokens": 15},
    })


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None,
           ) -> bytes:
    body: dict[str, Any] = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000,
                            "model": model}
    if usage is not None:
        body["choices"] = []
        body["usage"] = usage
    else:
        body["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    return b"data: " + orjson.dumps(body) + b"\n\n"


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class Answers:
    """Every response body, rendered once."""

    def __init__(self) -> None:
        self.completion: dict[str, bytes] = {}
        self.first: dict[str, bytes] = {}
        self.delta: dict[str, bytes] = {}
        self.tail: dict[tuple[str, bool], bytes] = {}
        for model in ("instant", "latency50", "stream", "stream-fast"):
            self.completion[model] = _completion(model)
            self.first[model] = _http_chunk(_chunk(model, {"role": "assistant", "content": "tok"}))
            self.delta[model] = _http_chunk(_chunk(model, {"content": " tok"}))
            finish = _chunk(model, {}, "stop")
            usage = _chunk(model, {}, usage={"prompt_tokens": 8, "completion_tokens": DELTAS,
                                             "total_tokens": 8 + DELTAS})
            done = b"data: [DONE]\n\n"
            self.tail[(model, True)] = _http_chunk(finish) + _http_chunk(usage) + _http_chunk(done) + b"0\r\n\r\n"
            self.tail[(model, False)] = _http_chunk(finish) + _http_chunk(done) + b"0\r\n\r\n"
        vector = [((i * 7919) % 1000) / 1000.0 - 0.5 for i in range(DIMENSIONS)]
        self.float_vector = orjson.dumps(vector)
        self.base64_vector = orjson.dumps(base64.b64encode(struct.pack(f"<{DIMENSIONS}f", *vector)).decode())
        self.models = orjson.dumps({"object": "list", "data": [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "mock"}
            for m in ("instant", "latency50", "stream", "stream-fast")]})

    def embeddings(self, model: str, count: int, base64_format: bool) -> bytes:
        vector = self.base64_vector if base64_format else self.float_vector
        items = b",".join(b'{"object":"embedding","index":%d,"embedding":%s}' % (i, vector) for i in range(count))
        return (b'{"object":"list","data":[' + items + b'],"model":' + orjson.dumps(model)
                + b',"usage":{"prompt_tokens":%d,"total_tokens":%d}}' % (count * 2, count * 2))


ANSWERS = Answers()
JSON_HEAD = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\n%s\r\n")


def _model(name: Any) -> str:
    text = str(name or "instant").removeprefix("openai/")
    return text if text in ANSWERS.completion else "instant"


class Upstream(asyncio.Protocol):
    """One connection. ``busy`` while a delayed or streamed answer is being written."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.busy = False
        self.close_after = False
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._process()

    def _process(self) -> None:
        while not self.busy and self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self._reply(431, b"Request Header Fields Too Large", b'{"error":"head too large"}', close=True)
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            method, _, rest = head[0].partition(" ")
            path = rest.partition(" ")[0]
            length = 0
            self.close_after = False
            for line in head[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value.strip() or 0)
                elif name == "connection" and value.strip().lower() == "close":
                    self.close_after = True
                elif name == "transfer-encoding":
                    self._reply(411, b"Length Required", b'{"error":"send Content-Length"}', close=True)
                    return
            if length > MAX_BODY:
                self._reply(413, b"Payload Too Large", b'{"error":"too large"}', close=True)
                return
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4:end + 4 + length])
            del self.buffer[:end + 4 + length]
            self._route(method, path.partition("?")[0], body)

    def _reply(self, status: int, reason: bytes, body: bytes, close: bool = False) -> None:
        if self.transport is None:
            return
        close = close or self.close_after
        extra = b"Connection: close\r\n" if close else b""
        self.transport.write(JSON_HEAD % (status, reason, len(body), extra) + body)
        if close:
            self.transport.close()

    def _route(self, method: str, path: str, body: bytes) -> None:
        if method == "POST" and path.endswith("/chat/completions"):
            self._chat(body)
        elif method == "POST" and path.endswith("/embeddings"):
            self._embeddings(body)
        elif method == "GET" and path.endswith("/models"):
            self._reply(200, b"OK", ANSWERS.models)
        elif method == "GET" and path in ("/health", "/"):
            self._reply(200, b"OK", b'{"status":"ok"}')
        else:
            self._reply(404, b"Not Found", b'{"error":{"message":"not found","type":"invalid_request_error"}}')

    def _json(self, body: bytes) -> dict[str, Any] | None:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            self._reply(400, b"Bad Request", b'{"error":{"message":"body must be a JSON object",'
                                             b'"type":"invalid_request_error"}}')
            return None
        return data

    def _chat(self, raw: bytes) -> None:
        data = self._json(raw)
        if data is None:
            return
        model = _model(data.get("model"))
        if data.get("stream") and model != "latency50":
            options = data.get("stream_options") or {}
            self._stream(model, bool(isinstance(options, dict) and options.get("include_usage")))
        elif model == "latency50":
            self.busy = True
            self.loop.call_later(LATENCY, self._delayed, ANSWERS.completion[model])
        else:
            self._reply(200, b"OK", ANSWERS.completion[model])

    def _delayed(self, body: bytes) -> None:
        self.busy = False
        self._reply(200, b"OK", body)
        self._process()

    def _embeddings(self, raw: bytes) -> None:
        data = self._json(raw)
        if data is None:
            return
        inputs = data.get("input")
        count = len(inputs) if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int) else 1
        self._reply(200, b"OK", ANSWERS.embeddings(str(data.get("model") or "instant"), count,
                                                   data.get("encoding_format") == "base64"))

    def _stream(self, model: str, usage: bool) -> None:
        if self.transport is None:
            return
        self.busy = True
        extra = b"Connection: close\r\n" if self.close_after else b""
        if model == "stream":
            self.transport.write(SSE_HEAD % extra + ANSWERS.first[model])
            start = self.loop.time()
            self.loop.call_at(start + PACE, self._tick, model, usage, 1, start)
        else:
            out = [SSE_HEAD % extra, ANSWERS.first[model]]
            out += [ANSWERS.delta[model]] * (DELTAS - 1)
            out.append(ANSWERS.tail[(model, usage)])
            self.transport.write(b"".join(out))
            self._stream_done()

    def _tick(self, model: str, usage: bool, sent: int, start: float) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if sent + 1 < DELTAS:
            self.transport.write(ANSWERS.delta[model])
            self.loop.call_at(start + (sent + 1) * PACE, self._tick, model, usage, sent + 1, start)
            return
        self.transport.write(ANSWERS.delta[model] + ANSWERS.tail[(model, usage)])
        self._stream_done()

    def _stream_done(self) -> None:
        self.busy = False
        if self.close_after and self.transport is not None:
            self.transport.close()
            return
        self._process()


async def serve(host: str, port: int, reuse_port: bool) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Upstream, host, port, backlog=4096, reuse_port=reuse_port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--procs", type=int, default=1, help="processes sharing the port (SO_REUSEPORT)")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the mock listens on loopback only")
    children = []
    for _ in range(max(0, args.procs - 1)):
        pid = os.fork()
        if pid == 0:
            children = []
            break
        children.append(pid)
    try:
        import uvloop

        uvloop.run(serve(args.host, args.port, args.procs > 1))
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    return 0


if __name__ == "__main__":
    sys.exit(main())
