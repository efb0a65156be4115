"""Upstream faults, through the running gateway: every one ends in a clear error (or, for
a slow but live stream, success), never a hang or a 500, and leaves the right record.

The upstream is ``FaultyUpstream``: a raw TCP server that can refuse, reset, stall and
send garbage. Every client call is bounded (``CLIENT_TIMEOUT`` per read, ``DEADLINE``
for a whole stream).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes import faulty_upstream as fu
from tests.fakes.faulty_upstream import FaultyUpstream
from tests.fakes.openai_fake import completion

BODY: dict[str, Any] = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
CLIENT_TIMEOUT = 5.0
DEADLINE = 10.0
FAST = {"stream_idle_timeout": 0.5, "read_timeout": 0.5, "total_timeout": 5.0, "connect_timeout": 2.0}

COMPLETION = orjson.dumps(completion("a complete answer that is long enough to be cut in half"))
UPSTREAM_ERROR = {"error": {"message": "The server had an error processing your request.", "type": "server_error",
                            "param": None, "code": "upstream_overloaded"}}


def started(frames: int = 2) -> list[bytes]:
    """The opening of a stream: the role chunk and ``frames`` words ("w0 ", "w1 ", ...)."""
    return fu.words_stream([f"w{i} " for i in range(frames)], finish=False)


@dataclass
class Outcome:
    """What the client saw: the status, the JSON body (non-stream or HTTP error) or the
    ``data:`` events of a stream (``"[DONE]"`` kept as text), with their arrival times."""

    status: int
    body: Any = None
    events: list[Any] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(e["choices"][0]["delta"].get("content") or "" for e in self.events
                       if isinstance(e, dict) and e.get("choices"))


def call(gw: RunningGateway, request_id: str, *, stream: bool) -> Outcome:
    headers = {"x-request-id": request_id}
    with httpx.Client(base_url=gw.url, timeout=CLIENT_TIMEOUT) as client:
        if not stream:
            response = client.post("/v1/chat/completions", json=BODY, headers=headers)
            return Outcome(response.status_code, response.json())
        with client.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True},
                           headers=headers) as response:
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                return Outcome(response.status_code, orjson.loads(response.read()))
            outcome = Outcome(response.status_code)
            end = time.monotonic() + DEADLINE
            for line in response.iter_lines():
                assert time.monotonic() < end, "the stream did not end in time"
                if line.startswith("data: "):
                    data = line[len("data: "):]
                    outcome.events.append(data if data == "[DONE]" else orjson.loads(data))
                    outcome.arrivals.append(time.monotonic())
            return outcome


def record_of(gw: RunningGateway, request_id: str) -> dict[str, Any]:
    gw.flush()
    response = gw.http.get(f"/v1/activity/{request_id}")
    assert response.status_code == 200, f"no record for {request_id}"
    record: dict[str, Any] = response.json()
    return record


@dataclass(frozen=True)
class Expect:
    """``status``: the HTTP error the client gets; ``None`` means a 200 stream that ends
    with an in-band error event. ``error_type`` is on the envelope and the record."""

    error_type: str
    status: int | None
    code: str | None = None
    message: str | None = None

    @property
    def record_status(self) -> int:
        if self.status is not None:
            return self.status
        return 504 if self.error_type == "timeout_error" else 502


BAD_GATEWAY = Expect("upstream_error", 502)
TIMEOUT = Expect("timeout_error", 504)
IN_BAND = Expect("upstream_error", None)


@dataclass(frozen=True)
class Case:
    name: str
    behaviour: Callable[[bool], fu.Behaviour | None]
    """The upstream's behaviour for a stream (True) or plain request; ``None``: refuse."""
    expect: Callable[[bool], Expect]


def _both(expect: Expect) -> Callable[[bool], Expect]:
    return lambda stream: expect


def _split(plain: Expect, streamed: Expect) -> Callable[[bool], Expect]:
    return lambda stream: streamed if stream else plain


CASES = [
    Case("connection_refused", lambda s: None, _both(Expect("upstream_error", 502, "upstream_connect_error"))),
    Case("reset_before_response", lambda s: fu.reset_before_response(), _both(BAD_GATEWAY)),
    Case("reset_mid_response",
         lambda s: fu.reset_after(started()) if s else fu.reset_mid_body(COMPLETION),
         _split(BAD_GATEWAY, IN_BAND)),
    Case("stall_mid_response",
         lambda s: fu.stall_after(started(1)) if s else fu.stall_mid_body(COMPLETION),
         _split(TIMEOUT, Expect("timeout_error", None))),
    Case("stall_before_headers", lambda s: fu.stall_before_headers(),
         _both(Expect("timeout_error", 504, "upstream_read_timeout"))),
    Case("malformed_body",
         lambda s: fu.stream([*started(), b"data: {this is not json\n\n"]) if s else fu.json_body(b'{"choices": ['),
         _split(Expect("upstream_error", 502, "upstream_malformed_response"),
                Expect("upstream_error", None, "upstream_malformed_response"))),
    Case("wrong_shape_body",
         lambda s: fu.stream([*started(), b'data: {"choices": [1]}\n\n']) if s else fu.json_body(b'{"choices": [1]}'),
         _split(Expect("upstream_error", 502, "upstream_malformed_response"),
                Expect("upstream_error", None, "upstream_malformed_response"))),
    Case("truncated",
         lambda s: fu.stream(started()) if s else fu.truncated_body(COMPLETION),
         _split(BAD_GATEWAY, Expect("upstream_error", None, "upstream_stream_truncated"))),
    Case("error_object_with_200",
         lambda s: fu.stream(fu.sse_frames([UPSTREAM_ERROR])) if s else fu.json_body(orjson.dumps(UPSTREAM_ERROR)),
         _both(Expect("upstream_error", 502, "upstream_overloaded", "had an error processing"))),
    Case("error_object_mid_stream",
         lambda s: fu.stream([*started(), *fu.sse_frames([UPSTREAM_ERROR])]) if s else fu.json_body(
             orjson.dumps(UPSTREAM_ERROR)),
         _split(Expect("upstream_error", 502, "upstream_overloaded"),
                Expect("upstream_error", None, "upstream_overloaded", "had an error processing"))),
    Case("json_error_to_a_stream_request",
         lambda s: fu.json_body(orjson.dumps(UPSTREAM_ERROR)),
         _both(Expect("upstream_error", 502, "upstream_overloaded", "had an error processing"))),
    Case("malformed_http", lambda s: fu.raw(b"HTTP/1.1 two hundred OK\r\nbroken header line\r\n\r\n"),
         _both(BAD_GATEWAY)),
]


@pytest.fixture
def upstream() -> Iterator[FaultyUpstream]:
    fake = FaultyUpstream().start()
    yield fake
    fake.stop()


def gateway_for(gateway_factory: GatewayFactory, base_url: str, **settings: Any) -> RunningGateway:
    return gateway_factory(env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": base_url + "/v1"},
                           **{**FAST, **settings})


def check_error(outcome: Outcome, expect: Expect) -> dict[str, Any]:
    """The error the client got, checked against ``expect``; returns its envelope body."""
    if expect.status is not None:
        assert outcome.status == expect.status, outcome
        assert isinstance(outcome.body, dict) and set(outcome.body) == {"error"}, outcome
        error: dict[str, Any] = outcome.body["error"]
    else:
        assert outcome.status == 200, outcome
        assert outcome.events and "[DONE]" not in outcome.events, outcome
        *before, last = outcome.events
        assert all("choices" in e for e in before) and outcome.text.startswith("w0"), "content came first"
        assert isinstance(last, dict) and set(last) == {"error"}, f"the stream must end with an error: {outcome}"
        error = last["error"]
    assert error["type"] == expect.error_type and error["code"] != "internal_error", error
    if expect.code is not None:
        assert error["code"] == expect.code, error
    if expect.message is not None:
        assert expect.message in error["message"], error
    return error


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_gives_a_clear_error_and_a_failed_record(case: Case, stream: bool, gateway_factory: GatewayFactory,
                                                       upstream: FaultyUpstream) -> None:
    behaviour = case.behaviour(stream)
    base_url = f"http://127.0.0.1:{fu.closed_port()}" if behaviour is None else upstream.url
    if behaviour is not None:
        upstream.enqueue(behaviour)
    gw = gateway_for(gateway_factory, base_url)
    expect = case.expect(stream)

    started_at = time.monotonic()
    outcome = call(gw, case.name, stream=stream)
    assert time.monotonic() - started_at < DEADLINE
    error = check_error(outcome, expect)

    record = record_of(gw, case.name)
    assert (record["status"], record["error_type"], record["http_status"], record["stream"]) == (
        "FAILED", expect.error_type, expect.record_status, stream)
    assert record["error_message"] == error["message"]
    if behaviour is not None:
        assert len(upstream.connections) == 1, "max_retries is 0: one attempt"
        upstream.wait_closed(0)


def test_slow_drip_within_the_idle_timeout_succeeds_chunk_by_chunk(gateway_factory: GatewayFactory,
                                                                   upstream: FaultyUpstream) -> None:
    words = [f"d{i} " for i in range(6)]
    upstream.enqueue(fu.stream(fu.words_stream(words), gap=0.3))
    gw = gateway_for(gateway_factory, upstream.url, stream_idle_timeout=1.5)
    outcome = call(gw, "drip", stream=True)
    assert outcome.status == 200 and outcome.events[-1] == "[DONE]"
    assert outcome.text == "".join(words)
    content = [t for e, t in zip(outcome.events, outcome.arrivals, strict=True)
               if isinstance(e, dict) and e.get("choices") and e["choices"][0]["delta"].get("content")]
    gaps = [b - a for a, b in itertools.pairwise(content)]
    assert len(gaps) == len(words) - 1
    assert sorted(gaps)[1] > 0.15 and content[-1] - content[0] > 1.0, f"chunks were held back: {gaps}"
    record = record_of(gw, "drip")
    assert record["status"] == "SUCCESS" and record["first_token_ms"] is not None


def test_client_disconnect_closes_the_upstream_at_once_and_records_the_output(
        gateway_factory: GatewayFactory, upstream: FaultyUpstream) -> None:
    upstream.enqueue(fu.stall_after(started(2)))
    gw = gateway_for(gateway_factory, upstream.url, stream_idle_timeout=30.0)
    with httpx.Client(base_url=gw.url, timeout=CLIENT_TIMEOUT) as client, client.stream(
            "POST", "/v1/chat/completions", json={**BODY, "stream": True},
            headers={"x-request-id": "gone"}) as response:
        seen = ""
        for line in response.iter_lines():
            if line.startswith("data: "):
                seen += orjson.loads(line[6:])["choices"][0]["delta"].get("content") or ""
            if "w1" in seen:
                break
        disconnected_at = time.monotonic()
    connection = upstream.wait_closed(0)
    assert connection.closed_by_peer
    assert connection.closed_at is not None
    assert connection.closed_at - disconnected_at < 1.0, "the gateway held the upstream after the client left"
    record = record_of(gw, "gone")
    metrics = {m["name"]: m["value"] for m in record["metrics"]}
    assert (record["status"], record["http_status"], record["stream"]) == ("CANCELLED", 499, True)
    assert record["output_tokens"] == 2 and metrics["OUTPUT_TOKEN"] == "2"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_reset_before_the_response_is_retried(stream: bool, gateway_factory: GatewayFactory,
                                              upstream: FaultyUpstream) -> None:
    upstream.enqueue(fu.reset_before_response(), fu.ok("second time lucky"))
    gw = gateway_for(gateway_factory, upstream.url, max_retries=2, retry_base_delay=0.01)
    outcome = call(gw, "retried", stream=stream)
    assert outcome.status == 200
    if stream:
        assert outcome.text == "second time lucky" and outcome.events[-1] == "[DONE]"
    else:
        assert outcome.body["choices"][0]["message"]["content"] == "second time lucky"
    assert len(upstream.connections) == 2
    record = record_of(gw, "retried")
    assert record["status"] == "SUCCESS"
    assert [(a["attempt"], a["status"], a["http_status"], a["error_type"]) for a in record["attempts"]] == [
        (1, "FAILED", 502, "upstream_error"), (2, "SUCCESS", 200, None)]

