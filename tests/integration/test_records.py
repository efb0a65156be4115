"""Records through the running gateway: one per request, whatever happens, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.gemini_fake import VALID_KEY as GEMINI_KEY
from tests.fakes.gemini_fake import FakeGemini
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, openai_error, text_stream
from tests.fakes.server import Scripted

BODY: dict[str, Any] = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def metrics_of(record: dict[str, Any]) -> dict[str, str]:
    return {m["name"]: m["value"] for m in record["metrics"]}


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def held_stream(release: threading.Event, words: int = 6) -> Scripted:
    """A stream that sends its role chunk and first two words, then waits for ``release``."""
    return Scripted(stream=text_stream([f"w{i} " for i in range(words)]), media_type="text/event-stream",
                    hold_after=2, release=release)


def exercise(gw: RunningGateway, fake: FakeOpenAI) -> dict[str, dict[str, Any]]:
    """A success, an upstream failure and a client disconnect mid-stream; returns their records."""
    ok = gw.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "rec-ok"})
    assert ok.status_code == 200
    fake.enqueue(openai_error(500, "boom", "server_error"))
    failed = gw.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "rec-failed"})
    assert failed.status_code == 502
    release = threading.Event()
    fake.enqueue(held_stream(release))
    with httpx.Client(base_url=gw.url, timeout=10) as client, client.stream(
            "POST", "/v1/chat/completions", json={**BODY, "stream": True},
            headers={"x-request-id": "rec-cancel"}) as response:
        lines = response.iter_lines()
        first = next(line for line in lines if line.startswith("data: "))
        assert "w0" in first
    wait_for(lambda: fake.closed_streams >= 1)
    release.set()
    wait_for(lambda: len(gw.records()) >= 3)
    return {r["request_id"]: r for r in gw.records()}


def check_exercise(records: dict[str, dict[str, Any]]) -> None:
    ok, failed, cancelled = records["rec-ok"], records["rec-failed"], records["rec-cancel"]
    assert (ok["status"], ok["http_status"], ok["provider"], ok["model_requested"], ok["model_answered"]) == (
        "SUCCESS", 200, "openai", "openai/gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert metrics_of(ok)["INPUT_TOKEN"] == "11" and metrics_of(ok)["OUTPUT_TOKEN"] == "7"
    assert metrics_of(ok)["TOTAL_TOKEN"] == "18" and metrics_of(ok)["CACHED_CONTENT_TOKEN"] == "3"
    assert metrics_of(ok)["LLM_REQUEST_ID"] == ok["id"]
    assert int(metrics_of(ok)["TIME_TAKEN"]) > 0
    assert (failed["status"], failed["http_status"], failed["error_type"]) == ("FAILED", 502, "upstream_error")
    assert "boom" in failed["error_message"]
    assert (cancelled["status"], cancelled["http_status"], cancelled["stream"]) == ("CANCELLED", 499, True)
    cancel_metrics = metrics_of(cancelled)
    assert int(cancel_metrics["OUTPUT_TOKEN"]) >= 1, "output delivered before the disconnect is counted"
    assert int(cancel_metrics["FIRST_TOKEN_RECIEVED_TIME"]) <= int(cancel_metrics["TIME_TAKEN"])


def test_success_failure_and_disconnect_are_recorded_on_sqlite(gateway: RunningGateway,
                                                               fake_openai: FakeOpenAI) -> None:
    check_exercise(exercise(gateway, fake_openai))


@pytest.mark.postgres
def test_success_failure_and_disconnect_are_recorded_on_postgres(gateway_factory: GatewayFactory,
                                                                 fake_openai: FakeOpenAI, postgres_url: str) -> None:
    gw = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                         database_url=postgres_url)
    check_exercise(exercise(gw, fake_openai))


def test_deltas_are_forwarded_as_they_arrive(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    """The upstream holds the rest of its stream until the client has seen the first words."""
    release = threading.Event()
    fake_openai.enqueue(held_stream(release, words=4))
    seen: list[str] = []
    with gateway.http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and "w1" in line:
                seen.append("w1")
                release.set()
            elif line.startswith("data: ") and "w3" in line:
                seen.append("w3")
    assert seen == ["w1", "w3"]


def test_stream_success_has_one_record_with_time_to_first_token(gateway: RunningGateway) -> None:
    for i in range(3):
        with gateway.http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True},
                                 headers={"x-request-id": f"s{i}"}) as response:
            assert response.read().endswith(b"data: [DONE]\n\n")
    records = gateway.records()
    assert sorted(r["request_id"] for r in records) == ["s0", "s1", "s2"]
    for record in records:
        metrics = metrics_of(record)
        assert record["status"] == "SUCCESS" and record["stream"] is True
        assert 0 < int(metrics["FIRST_TOKEN_RECIEVED_TIME"]) <= int(metrics["TIME_TAKEN"])
        assert metrics["OUTPUT_TOKEN"] == "2"  # "echo: hi" streams as two words


def test_activity_filters_and_pagination(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    for i in range(5):
        gateway.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": f"a{i}"})
    fake_openai.enqueue(openai_error(429, "slow down", "requests"))
    gateway.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "a-failed"})
    assert [r["request_id"] for r in gateway.records(status="FAILED")] == ["a-failed"]
    assert len(gateway.records(provider="openai")) == 6 and gateway.records(provider="other") == []
    first = gateway.http.get("/v1/activity", params={"limit": 4}).json()
    second = gateway.http.get("/v1/activity", params={"limit": 4, "cursor": first["next_cursor"]}).json()
    ids = [r["request_id"] for r in first["data"] + second["data"]]
    assert ids == ["a-failed", "a4", "a3", "a2", "a1", "a0"] and second["has_more"] is False
    missing = gateway.http.get("/v1/activity/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "record_not_found"


def test_master_key_is_required_when_set(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                         master_key="gw-master-123")
    denied = gw.http.post("/v1/chat/completions", json=BODY)
    assert denied.status_code == 401 and denied.json()["error"]["type"] == "authentication_error"
    wrong = gw.http.post("/v1/chat/completions", json=BODY, headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    allowed = gw.http.post("/v1/chat/completions", json=BODY, headers={"authorization": "Bearer gw-master-123"})
    assert allowed.status_code == 200
    assert gw.http.get("/healthz").status_code == 200
    assert gw.http.get("/v1/activity").status_code == 401


def test_credential_verification_and_providers(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    good = gateway.http.post("/v1/credentials/verify", json={"provider": "openai", "credential": {
        "key": VALID_KEY, "base_url": fake_openai.url + "/v1"}}).json()
    bad = gateway.http.post("/v1/credentials/verify", json={"provider": "openai", "credential": {
        "key": "sk-wrong-key-9", "base_url": fake_openai.url + "/v1"}}).json()
    configured = gateway.http.post("/v1/credentials/verify", json={"provider": "openai"}).json()
    assert (good["valid"], bad["valid"], configured["valid"]) == (True, False, True)
    assert "sk-wrong-key-9" not in bad["message"]
    assert all(r.method == "GET" and r.path == "/v1/models" for r in fake_openai.requests)
    providers = {p["name"]: p for p in gateway.http.get("/v1/providers").json()["data"]}
    assert providers["openai"]["configured"] is True
    assert providers["openai"]["capabilities"] == {"chat": True, "stream": True, "tools": True, "embeddings": True,
                                                   "rerank": False, "verify": True}
    unknown = gateway.http.post("/v1/credentials/verify", json={"provider": "nope"})
    assert unknown.status_code == 404


def test_unsupported_parameters_are_refused_or_dropped(gateway_factory: GatewayFactory) -> None:
    """A field a translated provider cannot honour (Gemini has no ``min_p``); OpenAI-format upstreams
    get every field unchanged (``tests/integration/test_openai_clients.py``)."""
    fake = FakeGemini().start()
    try:
        env = {"GEMINI_API_KEY": GEMINI_KEY, "GEMINI_BASE_URL": fake.url}
        body = {**BODY, "model": "gemini/gemini-2.5-flash", "min_p": 0.1}
        strict = gateway_factory(env=env)
        refused = strict.http.post("/v1/chat/completions", json=body)
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "min_p"
        lenient = gateway_factory(env=env, drop_unsupported_params=True)
        dropped = lenient.http.post("/v1/chat/completions", json=body, headers={"x-request-id": "d1"})
        assert dropped.status_code == 200 and "min_p" not in str(fake.last.body)
        lenient.flush()
        assert lenient.http.get("/v1/activity/d1").json()["metadata"]["dropped_params"] == "min_p"
    finally:
        fake.stop()


def test_readiness_reflects_the_database(gateway_factory: GatewayFactory, gateway: RunningGateway) -> None:
    assert gateway.http.get("/readyz").json()["status"] == "ready"
    down = gateway_factory(database_url="postgresql+psycopg://postgres@127.0.0.1:1/none", migrate_on_start=False)
    response = down.http.get("/readyz")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"


def test_upstream_connection_is_reused_after_a_stream(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    """The relay reads past ``[DONE]`` to the end of the body, so the connection returns to the pool."""
    for _ in range(3):
        with gateway.http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}) as response:
            assert response.read().endswith(b"data: [DONE]\n\n")
    ports = {request.client_port for request in fake_openai.requests}
    assert len(fake_openai.requests) == 3 and len(ports) == 1


def test_a_missing_provider_credential_names_the_variable_to_set(gateway_factory: GatewayFactory) -> None:
    gw = gateway_factory(env={})
    response = gw.http.post("/v1/chat/completions", json=BODY)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "missing_provider_credential" and "set OPENAI_API_KEY" in error["message"]
    assert gw.records()[0]["status"] == "FAILED"


@pytest.mark.parametrize("stream", [False, True])
def test_the_record_keeps_the_providers_id_for_the_answer(gateway: RunningGateway, stream: bool) -> None:
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    response = gateway.http.post("/v1/chat/completions", json=body, headers={"x-request-id": "pid-1"})
    assert response.status_code == 200
    gateway.flush()
    record = gateway.http.get("/v1/activity/pid-1").json()
    assert record["metadata"]["provider_request_id"] == "chatcmpl-upstream1"
