"""The access log and the upstream-failure log, through the running gateway: the exact line
shape, the model and provider the request learned, 502s after retries leaving an
explanation, JSON output from a real ``uvicorn.run`` with the gateway's logging options,
and no secret in any formatted line."""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway.log_setup import TEXT_FORMAT, JsonFormatter
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes import faulty_upstream as fu
from tests.fakes.faulty_upstream import FaultyUpstream
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, completion, openai_error, text_stream
from tests.fakes.server import Scripted

BODY: dict[str, Any] = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
FAST_RETRIES = {"max_retries": 2, "retry_base_delay": 0.001, "retry_max_delay": 0.01}
CHAT = r'127\.0\.0\.1:\d+ - "POST /v1/chat/completions" '
DURATION = r"\d+\.\dms"


def access_pattern(status: int, model: str, provider: str, request_id: str) -> re.Pattern[str]:
    return re.compile(rf"^{CHAT}{status} {DURATION} model={re.escape(model)} provider={re.escape(provider)} "
                      rf"request_id={re.escape(request_id)}$")


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


class Lines:
    """The messages of ``logger``'s records at ``level`` and above, as they arrive."""

    def __init__(self, caplog: pytest.LogCaptureFixture, logger: str) -> None:
        self._caplog, self._logger = caplog, logger

    def records(self, request_id: str | None = None) -> list[logging.LogRecord]:
        found = [r for r in self._caplog.records if r.name == self._logger]
        return [r for r in found if request_id is None or request_id in r.getMessage()]

    def messages(self, request_id: str | None = None) -> list[str]:
        return [r.getMessage() for r in self.records(request_id)]

    def wait(self, request_id: str, count: int = 1) -> list[str]:
        wait_for(lambda: len(self.records(request_id)) >= count)
        return self.messages(request_id)


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> Iterator[Lines]:
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        yield Lines(caplog, "gateway.access")


@pytest.fixture
def upstream_lines(caplog: pytest.LogCaptureFixture) -> Iterator[Lines]:
    with caplog.at_level(logging.INFO, logger="gateway.upstream"):
        yield Lines(caplog, "gateway.upstream")


def test_a_chat_completion_leaves_one_access_line(gateway: RunningGateway, access: Lines) -> None:
    response = gateway.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "acc-plain"})
    assert response.status_code == 200
    [line] = access.wait("acc-plain")
    assert access_pattern(200, "openai/gpt-4o-mini", "openai", "acc-plain").match(line), line
    [record] = access.records("acc-plain")
    assert record.levelno == logging.INFO
    assert isinstance(record.args, dict) and record.args["status"] == 200 and record.args["method"] == "POST"


def test_a_stream_is_logged_once_when_it_ends(gateway: RunningGateway, access: Lines) -> None:
    with gateway.http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True},
                             headers={"x-request-id": "acc-stream"}) as response:
        assert response.read().endswith(b"data: [DONE]\n\n")
    [line] = access.wait("acc-stream")
    assert access_pattern(200, "openai/gpt-4o-mini", "openai", "acc-stream").match(line), line
    time.sleep(0.1)
    assert len(access.records("acc-stream")) == 1


def test_a_client_leaving_mid_stream_is_logged_as_499(gateway: RunningGateway, fake_openai: FakeOpenAI,
                                                      access: Lines) -> None:
    release = threading.Event()
    fake_openai.enqueue(Scripted(stream=text_stream([f"w{i} " for i in range(6)]), media_type="text/event-stream",
                                 hold_after=2, release=release))
    with httpx.Client(base_url=gateway.url, timeout=10) as client, client.stream(
            "POST", "/v1/chat/completions", json={**BODY, "stream": True},
            headers={"x-request-id": "acc-gone"}) as response:
        lines = response.iter_lines()
        assert "w0" in next(line for line in lines if line.startswith("data: "))
        time.sleep(0.1)
        assert access.records("acc-gone") == [], "logged only once the stream is over"
    [line] = access.wait("acc-gone")
    release.set()
    assert access_pattern(499, "openai/gpt-4o-mini", "openai", "acc-gone").match(line), line


def test_requests_that_reach_no_provider_show_a_dash(gateway: RunningGateway, access: Lines) -> None:
    unknown = gateway.http.post("/v1/chat/completions", json={**BODY, "model": "nope/some-model"},
                                headers={"x-request-id": "acc-404"})
    assert unknown.status_code == 404
    health = gateway.http.get("/healthz", params={"key": "not-in-the-log"}, headers={"x-request-id": "acc-health"})
    assert health.status_code == 200
    [line] = access.wait("acc-404")
    assert access_pattern(404, "nope/some-model", "-", "acc-404").match(line), line
    [line] = access.wait("acc-health")
    assert re.fullmatch(rf'127\.0\.0\.1:\d+ - "GET /healthz" 200 {DURATION} model=- provider=- '
                        r"request_id=acc-health", line), line


def test_control_characters_cannot_forge_a_line(gateway: RunningGateway, access: Lines) -> None:
    gateway.http.post("/v1/chat/completions", json={**BODY, "model": "nope/x\nINFO forged"},
                      headers={"x-request-id": "acc-forge"})
    [line] = access.wait("acc-forge")
    assert "\n" not in line and "model=nope/x\\nINFO forged " in line


def test_access_log_off_writes_nothing(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                       access: Lines) -> None:
    gw = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                         access_log=False)
    assert gw.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "acc-off"}).status_code == 200
    time.sleep(0.2)
    assert access.records() == []


def test_connection_refused_is_explained_attempt_by_attempt(gateway_factory: GatewayFactory, access: Lines,
                                                            upstream_lines: Lines) -> None:
    port = fu.closed_port()
    gw = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"},
                         **FAST_RETRIES)
    response = gw.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "up-refused"})
    assert response.status_code == 502
    assert response.json()["error"]["message"] == (
        "openai: could not connect to the provider: Connection refused.")
    lines = upstream_lines.wait("up-refused", 4)
    host = rf"upstream openai at 127\.0\.0\.1:{port} failed"
    cause = "ConnectError: Connection refused"
    for number, line in enumerate(lines[:2], 1):
        assert re.fullmatch(rf"{host}, attempt {number}/3: {cause}; retrying in \d\.\d{{3}}s "
                            r"\[request_id=up-refused\]", line), line
    assert lines[2] == (f"upstream openai at 127.0.0.1:{port} failed, attempt 3/3: {cause}; "
                        "retries exhausted, giving up [request_id=up-refused]")
    assert lines[3] == ("request up-refused failed after 3 attempt(s), answering 502 upstream_connect_error: "
                        "openai: could not connect to the provider: Connection refused.")
    assert len(lines) == 4
    records = upstream_lines.records("up-refused")
    assert all(r.levelno == logging.WARNING for r in records)
    assert isinstance(records[1].args, dict)
    assert {k: records[1].args[k] for k in ("provider", "host", "attempt", "attempts", "cause")} == {
        "provider": "openai", "host": f"127.0.0.1:{port}", "attempt": 2, "attempts": 3, "cause": cause}
    [line] = access.wait("up-refused")
    assert access_pattern(502, "openai/gpt-4o-mini", "openai", "up-refused").match(line), line


def test_an_upstream_5xx_names_the_status_and_the_fallback(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                                           upstream_lines: Lines) -> None:
    port = fu.closed_port()
    config = f"""
models:
  - name: primary
    model: openai/gpt-4o-mini
    credential: {{key: {VALID_KEY}, base_url: "{fake_openai.url}/v1"}}
    fallbacks: [backup]
  - name: backup
    model: openai/gpt-4o
    credential: {{key: {VALID_KEY}, base_url: "http://127.0.0.1:{port}/v1"}}
"""
    gw = gateway_factory(config=config, max_retries=0)
    fake_openai.enqueue(openai_error(503, "overloaded right now", "server_error"))
    response = gw.http.post("/v1/chat/completions", json={**BODY, "model": "primary"},
                            headers={"x-request-id": "up-503"})
    assert response.status_code == 502
    first, second, final = upstream_lines.wait("up-503", 3)
    origin = fake_openai.url.removeprefix("http://")
    assert first == (f"upstream openai at {origin} failed, attempt 1/1: HTTP 503 from upstream: overloaded right now; "
                     "retries exhausted, falling back to openai/gpt-4o [request_id=up-503]")
    assert second.startswith(f"upstream openai at 127.0.0.1:{port} failed, attempt 1/1: ConnectError: ")
    assert final.startswith("request up-503 failed after 2 attempt(s), answering 502 upstream_connect_error")


def test_a_stream_cut_mid_way_is_logged(gateway_factory: GatewayFactory, upstream_lines: Lines) -> None:
    faulty = FaultyUpstream().start()
    try:
        faulty.enqueue(fu.reset_after(fu.words_stream(["w0 ", "w1 "], finish=False)))
        gw = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": faulty.url + "/v1"})
        with gw.http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True},
                            headers={"x-request-id": "up-cut"}) as response:
            assert b'"error"' in response.read()
        [line] = upstream_lines.wait("up-cut")
    finally:
        faulty.stop()
    assert re.fullmatch(rf"upstream openai at 127\.0\.0\.1:{faulty.port} failed mid-stream after \d delta\(s\): "
                        r"\w+: .+; not retried, the client already has part of the answer \[request_id=up-cut\]",
                        line), line


def test_a_client_error_from_the_provider_is_info_without_a_final_line(
        gateway: RunningGateway, fake_openai: FakeOpenAI, upstream_lines: Lines) -> None:
    fake_openai.enqueue(openai_error(400, "bad 'messages'", "invalid_request_error"))
    assert gateway.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "up-400"}).status_code == 400
    upstream_lines.wait("up-400")
    [record] = upstream_lines.records("up-400")
    assert record.levelno == logging.INFO
    assert "HTTP 400 from upstream: bad 'messages'; not retryable, giving up" in record.getMessage()
    time.sleep(0.1)
    assert len(upstream_lines.records("up-400")) == 1


@contextmanager
def formatted(formatter: logging.Formatter) -> Iterator[io.StringIO]:
    """Everything the root logger receives, formatted by ``formatter``."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)


def test_no_secret_reaches_a_formatted_access_or_upstream_line(gateway_factory: GatewayFactory,
                                                               fake_openai: FakeOpenAI, access: Lines,
                                                               upstream_lines: Lines) -> None:
    provider_key, master = f"prov-{secrets.token_hex(8)}", f"master-{secrets.token_hex(8)}"
    gw = gateway_factory(env={"OPENAI_API_KEY": provider_key, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                         master_key=master, **FAST_RETRIES)
    admin = {"authorization": f"Bearer {master}"}
    gateway_key = gw.http.post("/v1/keys", json={"name": "team"}, headers=admin).json()["key"]
    echo = openai_error(503, f"Incorrect API key provided: {provider_key}", "server_error")
    fake_openai.enqueue(echo, echo, echo, Scripted(json=completion()))
    with formatted(JsonFormatter()) as json_out, formatted(logging.Formatter(TEXT_FORMAT)) as text_out:
        failed = gw.http.post("/v1/chat/completions", json=BODY,
                              headers={"authorization": f"Bearer {gateway_key}", "x-request-id": gateway_key})
        assert failed.status_code == 503
        gw.http.post("/v1/chat/completions", json=BODY, headers={**admin, "x-request-id": master})
        wait_for(lambda: len(access.records()) >= 3 and len(upstream_lines.records()) >= 4)
    outputs = (json_out.getvalue(), text_out.getvalue())
    for output in outputs:
        assert "Incorrect API key provided: ***" in output and "request_id=gw-***" in output
        for secret in (provider_key, master, gateway_key):
            assert secret not in output
    entries = [orjson.loads(line) for line in outputs[0].splitlines()]
    upstream = [e for e in entries if e["logger"] == "gateway.upstream" and "attempt" in e]
    assert upstream and all(e["cause"] == "HTTP 503 from upstream: Incorrect API key provided: ***" for e in upstream)
    assert {e["request_id"] for e in entries if e["logger"] == "gateway.access"} >= {"gw-***", "***"}


SERVE = """
import sys
import uvicorn
from gateway.log_setup import configure_logging, uvicorn_log_options
from gateway.settings import Settings

settings = Settings.load()
configure_logging(settings.log_level, settings.log_format)
uvicorn.run("gateway.app:create_app_from_env", factory=True, host="127.0.0.1", port=int(sys.argv[1]), workers=1,
            **uvicorn_log_options(settings.log_level, settings.log_format))
"""


def test_json_format_through_uvicorn_run(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    """The options ``gateway serve`` passes to ``uvicorn.run``: uvicorn keeps the JSON
    handler, so its lines, the access lines and the upstream lines are all JSON objects."""
    port = fu.closed_port()
    env = {"PATH": os.environ.get("PATH", ""), "GATEWAY_LOG_FORMAT": "json", "GATEWAY_LOG_LEVEL": "debug",
           "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gw.db'}", "GATEWAY_SPOOL_DIR": str(tmp_path / "spool"),
           "GATEWAY_MAX_RETRIES": "0", "OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"}
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            wait_for(lambda: _answers(client), timeout=30)
            assert client.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "js-ok"}).status_code == 200
            fake_openai.enqueue(openai_error(503, "overloaded", "server_error"))
            assert client.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "js-503"}).status_code == 503
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    lines = err.decode().splitlines()
    assert out == b"" and lines
    entries = [orjson.loads(line) for line in lines]
    assert all({"timestamp", "level", "logger", "message"} <= set(e) for e in entries)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["timestamp"]) for e in entries)
    loggers = {e["logger"] for e in entries}
    assert "uvicorn.error" in loggers and "uvicorn.access" not in loggers
    assert any(e["message"].startswith("Started server process") for e in entries)
    [ok] = [e for e in entries if e["logger"] == "gateway.access" and e.get("request_id") == "js-ok"]
    assert {k: ok[k] for k in ("method", "path", "status", "model", "provider")} == {
        "method": "POST", "path": "/v1/chat/completions", "status": 200, "model": "openai/gpt-4o-mini",
        "provider": "openai"}
    assert isinstance(ok["duration_ms"], float) and ok["duration_ms"] > 0
    [failure] = [e for e in entries if e["logger"] == "gateway.upstream" and e.get("attempt") == 1]
    assert failure["level"] == "WARNING" and failure["request_id"] == "js-503"
    assert {k: failure[k] for k in ("provider", "host", "attempt", "attempts", "cause")} == {
        "provider": "openai", "host": fake_openai.url.removeprefix("http://"), "attempt": 1, "attempts": 1,
        "cause": "HTTP 503 from upstream: overloaded"}


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False
