"""Secrets stay secret: provider keys, the master key and gateway keys never appear in logs,
error messages, response bodies, the activity API or the database files; captured bodies
(``GATEWAY_CAPTURE_BODIES``) are off by default and redacted when on."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from gateway.logging import RedactingFilter, Redactor, install_redaction
from gateway.service.capture import BodyCapture, redact_body
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, chunk, openai_error
from tests.fakes.server import Scripted, sse

MODEL = "openai/gpt-4o-mini"
MESSAGES: list[Any] = [{"role": "user", "content": "hello"}]
LOGGERS = ("", "gateway", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "httpx", "httpcore")


@contextmanager
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every record of every relevant logger at DEBUG into ``caplog`` (uvicorn's own loggers
    do not propagate, so the capture handler is attached to them directly)."""
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        if name and not logger.propagate:
            logger.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)
            if caplog.handler in logger.handlers:
                logger.removeHandler(caplog.handler)


class Traffic:
    """Drives one gateway through successes and failures that echo keys, keeping every
    response body (except the one that hands out the new gateway key)."""

    def __init__(self, gw: RunningGateway, fake: FakeOpenAI, master: str, alias_key: str) -> None:
        self.gw, self.fake, self.alias_key = gw, fake, alias_key
        self.master = {"authorization": f"Bearer {master}"}
        self.seen: list[str] = []
        created = gw.http.post("/v1/keys", json={"name": "team"}, headers=self.master)
        assert created.status_code == 201
        self.gateway_key: str = created.json()["key"]

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        response = self.gw.http.post(path, json=body, headers=headers or {"x-api-key": self.gateway_key})
        self.seen.append(f"{response.status_code} {dict(response.headers)} {response.text}")
        return response

    def run(self) -> None:
        chat = {"model": MODEL, "messages": MESSAGES}
        assert self.post("/v1/chat/completions", chat, self.master).status_code == 200
        assert self.post("/v1/chat/completions", chat, {"authorization": f"Bearer {self.gateway_key}"}
                         ).status_code == 200
        assert self.post("/v1/chat/completions", {**chat, "stream": True}).status_code == 200
        assert self.post("/v1/embeddings", {"model": "openai/text-embedding-3-small", "input": ["a"]}
                         ).status_code == 200
        echo = f"Incorrect API key provided: {VALID_KEY}. You can find your API key at https://x."
        for stream in (False, True):
            self.fake.enqueue(openai_error(401, echo, "invalid_request_error", "invalid_api_key"))
            assert self.post("/v1/chat/completions", {**chat, "stream": stream}).status_code == 401
        self.fake.enqueue(*[openai_error(500, f"upstream broke with key {VALID_KEY}", "server_error")] * 2)
        assert self.post("/v1/chat/completions", chat).status_code == 502
        frames = sse([chunk({"role": "assistant", "content": "partial"}),
                      {"error": {"message": f"bad key {VALID_KEY}", "type": "server_error"}}])
        self.fake.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
        assert "partial" in self.post("/v1/chat/completions", {**chat, "stream": True}).text
        self.fake.enqueue(openai_error(401, f"Incorrect API key provided: {self.alias_key}", "invalid_request_error"))
        assert self.post("/v1/chat/completions", {**chat, "model": "team-b"}).status_code == 401
        self.fake.enqueue(openai_error(401, f"Incorrect API key provided: {VALID_KEY}", "invalid_request_error"))
        verify = self.post("/v1/credentials/verify", {"provider": "openai"}, self.master)
        assert verify.json()["valid"] is False
        assert self.post("/v1/chat/completions", chat, {"authorization": "Bearer gw-not-a-key"}).status_code == 401

    def activity(self) -> list[str]:
        self.gw.flush()
        page = self.gw.http.get("/v1/activity", params={"limit": 500}, headers=self.master)
        ids = [r["request_id"] for r in page.json()["data"]]
        assert len(ids) >= 10
        return [page.text] + [self.gw.http.get(f"/v1/activity/{i}", headers=self.master).text for i in ids]


ALIAS_CONFIG = """
models:
  - name: team-b
    model: openai/gpt-4o-mini
    credential: {key: "%s"}
"""


def start(factory: GatewayFactory, fake: FakeOpenAI, master: str, alias_key: str, **overrides: Any) -> RunningGateway:
    env = {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}
    return factory(env=env, config=ALIAS_CONFIG % alias_key, master_key=master, max_retries=1,
                   retry_base_delay=0.01, **overrides)


def hits(texts: list[str], values: list[str]) -> list[str]:
    return [f"{value!r} in {text[:200]!r}" for text in texts for value in values if value in text]


def check_traffic(gw: RunningGateway, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture,
                  master: str, alias_key: str) -> Traffic:
    traffic = Traffic(gw, fake, master, alias_key)
    values = [VALID_KEY, master, alias_key, traffic.gateway_key]
    with all_logs(caplog):
        logging.getLogger("gateway.test").warning("deliberate: %s %s key=%s", *values[:3])
        logging.getLogger("uvicorn.error").info("deliberate: Authorization: Bearer %s", traffic.gateway_key)
        traffic.run()
        activity = traffic.activity()
    assert "deliberate" in caplog.text and "HTTP Request" in caplog.text
    assert hits([caplog.text], values) == []
    assert hits(traffic.seen, values) == []
    assert hits(activity, values) == []
    assert "***" in "".join(traffic.seen), "the echoed keys were masked, not dropped"
    return traffic


def test_no_secret_in_logs_responses_activity_or_sqlite(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                                        caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    master, alias_key = "master-" + secrets.token_hex(8), "alias-" + secrets.token_hex(8)
    gw = start(gateway_factory, fake_openai, master, alias_key, capture_bodies=True)
    traffic = check_traffic(gw, fake_openai, caplog, master, alias_key)
    values = [VALID_KEY, master, alias_key, traffic.gateway_key]
    files = sorted(tmp_path.glob("gateway.db*"))
    assert any(f.name.endswith("-wal") for f in files)
    raw = [f.read_bytes().decode("latin-1") for f in files]
    assert "openai: Incorrect API key provided: ***" in "".join(raw)
    assert hits(raw, values) == []
    gw.stop()
    assert hits([f.read_bytes().decode("latin-1") for f in tmp_path.glob("gateway.db*")], values) == []


@pytest.mark.postgres
def test_no_secret_in_any_postgres_text_column(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                               caplog: pytest.LogCaptureFixture, postgres_url: str) -> None:
    master, alias_key = "master-" + secrets.token_hex(8), "alias-" + secrets.token_hex(8)
    gw = start(gateway_factory, fake_openai, master, alias_key, capture_bodies=True, database_url=postgres_url)
    traffic = check_traffic(gw, fake_openai, caplog, master, alias_key)
    url = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    dump: list[str] = []
    with psycopg.connect(url) as connection:
        columns = connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')").fetchall()
        for table, column in columns:
            rows = connection.execute(f'SELECT "{column}"::text FROM "{table}"').fetchall()
            dump += [str(value) for (value,) in rows if value is not None]
    assert any("openai: Incorrect API key provided: ***" in text for text in dump)
    assert hits(dump, [VALID_KEY, master, alias_key, traffic.gateway_key]) == []


@pytest.mark.parametrize("capture", [False, True])
def test_body_capture(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, capture: bool) -> None:
    gw = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                         capture_bodies=capture)
    image = "data:image/png;base64," + "A" * 200_000
    content = [{"type": "text", "text": f"my key is {VALID_KEY}"}, {"type": "image_url", "image_url": {"url": image}}]
    body = {"model": MODEL, "messages": [{"role": "user", "content": content}],
            "metadata": {"api_key": "not-secret-but-named-so"}}
    assert gw.http.post("/v1/chat/completions", json=body).status_code == 200
    assert gw.http.post("/v1/chat/completions", json={**body, "stream": True}).status_code == 200
    records = gw.records()
    assert len(records) == 2
    if not capture:
        assert all(r["request_body"] is None and r["response_body"] is None for r in records)
        return
    for record in records:
        request, response = record["request_body"], record["response_body"]
        assert request["model"] == "gpt-4o-mini" and response is not None
        assert request["truncated"] is True
        parts = request["messages"][0]["content"]
        assert parts[0]["text"] == "my key is ***"
        assert parts[1]["image_url"]["url"] == "data:image/png;base64,...[200022 characters]"
        assert request["metadata"]["api_key"] == "***"
        assert VALID_KEY not in str(record)
    non_stream = next(r for r in records if not r["stream"])
    assert non_stream["response_body"]["choices"][0]["message"]["content"] == "echo: my key is ***"


def test_redact_body_masks_names_and_values_and_caps_size() -> None:
    redact = Redactor(["s3cr3t-value"])
    body = {"Authorization": "Bearer abc", "x-api-key": "k", "credentials": {"a": 1}, "password": "",
            "note": "has s3cr3t-value and sk-abcdef inside", "max_tokens": 5, "usage": {"prompt_tokens": 3},
            "nested": [{"token": "t", "ok": ("tuple", float("nan"))}]}
    out = redact_body(body, redact)
    assert out == {"Authorization": "***", "x-api-key": "***", "credentials": "***", "password": "",
                   "note": "has *** and sk-*** inside", "max_tokens": 5, "usage": {"prompt_tokens": 3},
                   "nested": [{"token": "***", "ok": ["tuple", "nan"]}]}
    big = redact_body({"texts": ["x" * 1000] * 200}, redact, limit=64 * 1024)
    assert big["truncated"] is True and len(str(big)) < 64 * 1024
    capture = BodyCapture(["base-secret"])
    capture.also_mask(["alias-secret"])
    capture.on_request({"a": "base-secret alias-secret"})
    assert capture.request == {"a": "*** ***"}
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):
        node["a"] = node = {}
    capture.on_response(deep)
    assert capture.response == {"truncated": True, "capture_error": "RecursionError"}


def test_redacting_filter_keeps_formatter_arguments_and_masks_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    uninstall = install_redaction(lambda: ["provider-secret-1"])
    try:
        log = logging.getLogger("gateway.test.redaction")
        with caplog.at_level(logging.DEBUG, logger="gateway.test.redaction"):
            log.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/v1/x?key=provider-secret-1", "1.1", 200)
            log.info("Bearer %s", "opaque-token")
            try:
                raise ValueError("upstream said provider-secret-1")
            except ValueError:
                log.exception("failed with %r", {"authorization": "Bearer gw-abcdef"})
        access = caplog.records[0]
        assert isinstance(access.args, tuple) and access.args[4] == 200
        assert caplog.messages[0] == '127.0.0.1:1 - "GET /v1/x?key=*** HTTP/1.1" 200'
        assert caplog.messages[1] == "Bearer ***"
        assert "provider-secret-1" not in caplog.text and "gw-abcdef" not in caplog.text
        assert "ValueError: upstream said ***" in caplog.text
    finally:
        uninstall()
    assert logging.getLogRecordFactory() is logging.LogRecord
    assert isinstance(RedactingFilter(Redactor()).filter(logging.makeLogRecord({"msg": "x"})), bool)
