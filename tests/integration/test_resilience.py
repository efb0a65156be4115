"""Retries, fallbacks and cooldowns through the running gateway, with attempts recorded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, openai_error

BODY: dict[str, Any] = {"model": "primary", "messages": [{"role": "user", "content": "hi"}]}
FAST_RETRIES = {"max_retries": 2, "retry_base_delay": 0.01, "retry_max_delay": 1.0}


@pytest.fixture
def backup_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def two_deployments(gateway_factory: GatewayFactory, primary: FakeOpenAI, backup: FakeOpenAI,
                    **settings: Any) -> RunningGateway:
    config = f"""
models:
  - name: primary
    model: openai/gpt-4o-mini
    credential: {{key: {VALID_KEY}, base_url: "{primary.url}/v1"}}
    fallbacks: [backup]
  - name: backup
    model: openai/gpt-4o
    credential: {{key: {VALID_KEY}, base_url: "{backup.url}/v1"}}
"""
    return gateway_factory(config=config, **settings)


def attempts_of(gw: RunningGateway, request_id: str) -> list[tuple[Any, ...]]:
    gw.flush()
    record = gw.http.get(f"/v1/activity/{request_id}").json()
    return [(a["attempt"], a["model"], a["status"], a["http_status"]) for a in record["attempts"]]


def test_retryable_failure_is_retried_then_succeeds(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                                    backup_openai: FakeOpenAI) -> None:
    gw = two_deployments(gateway_factory, fake_openai, backup_openai, **FAST_RETRIES)
    fake_openai.enqueue(openai_error(500, "flaky", "server_error"))
    response = gw.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "r1"})
    assert response.status_code == 200
    assert len(fake_openai.requests) == 2 and backup_openai.requests == []
    assert attempts_of(gw, "r1") == [(1, "gpt-4o-mini", "FAILED", 502), (2, "gpt-4o-mini", "SUCCESS", 200)]


def test_exhausted_deployment_falls_back_to_the_next(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                                     backup_openai: FakeOpenAI) -> None:
    gw = two_deployments(gateway_factory, fake_openai, backup_openai, **FAST_RETRIES)
    fake_openai.enqueue(*[openai_error(503, "overloaded", "server_error")] * 3)
    response = gw.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "r2"})
    assert response.status_code == 200
    assert backup_openai.last.body["model"] == "gpt-4o"
    assert attempts_of(gw, "r2") == [(1, "gpt-4o-mini", "FAILED", 503), (2, "gpt-4o-mini", "FAILED", 503),
                                     (3, "gpt-4o-mini", "FAILED", 503), (4, "gpt-4o", "SUCCESS", 200)]
    record = gw.records()[0]
    assert record["model_answered"] == "gpt-4o-mini-2024-07-18" and record["status"] == "SUCCESS"


def test_stream_is_retried_before_the_first_byte(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                                 backup_openai: FakeOpenAI) -> None:
    gw = two_deployments(gateway_factory, fake_openai, backup_openai, **FAST_RETRIES)
    fake_openai.enqueue(openai_error(502, "bad gateway", "server_error"))
    with gw.http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True},
                        headers={"x-request-id": "r3"}) as response:
        assert response.status_code == 200
        body = response.read().decode()
    assert "echo" in body and body.endswith("data: [DONE]\n\n")
    assert [a[2] for a in attempts_of(gw, "r3")] == ["FAILED", "SUCCESS"]


def test_retry_after_longer_than_the_cap_is_not_waited_for(gateway_factory: GatewayFactory,
                                                           fake_openai: FakeOpenAI) -> None:
    gw = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                         **FAST_RETRIES)
    fake_openai.enqueue(openai_error(429, "slow down", "requests", None, {"retry-after": "120"}))
    response = gw.http.post("/v1/chat/completions", json={**BODY, "model": "openai/gpt-4o-mini"})
    assert response.status_code == 429 and response.headers["retry-after"] == "120"
    assert len(fake_openai.requests) == 1


def test_client_errors_neither_retry_nor_fall_back(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                                   backup_openai: FakeOpenAI) -> None:
    gw = two_deployments(gateway_factory, fake_openai, backup_openai, **FAST_RETRIES)
    fake_openai.enqueue(openai_error(400, "bad messages", "invalid_request_error"))
    assert gw.http.post("/v1/chat/completions", json=BODY).status_code == 400
    assert len(fake_openai.requests) == 1 and backup_openai.requests == []


def test_failing_deployment_is_cooled_down(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                           backup_openai: FakeOpenAI) -> None:
    gw = two_deployments(gateway_factory, fake_openai, backup_openai, max_retries=0, cooldown_failures=2,
                         cooldown_seconds=60)
    fake_openai.enqueue(*[openai_error(500, "down", "server_error")] * 2)
    for _ in range(2):
        assert gw.http.post("/v1/chat/completions", json=BODY).status_code == 200
    assert len(fake_openai.requests) == 2 and len(backup_openai.requests) == 2
    assert gw.http.post("/v1/chat/completions", json=BODY).status_code == 200
    assert len(fake_openai.requests) == 2, "a cooling deployment is tried only after the available ones"
    assert len(backup_openai.requests) == 3


def test_unknown_fallback_is_a_config_error(gateway_factory: GatewayFactory) -> None:
    from gateway.config import ConfigError

    with pytest.raises(ConfigError, match="fallback 'nope'"):
        gateway_factory(config="models:\n  - {name: a, model: openai/x, fallbacks: [nope]}\n")


@pytest.mark.parametrize("where", ["configuration", "caller"])
def test_a_deployment_without_its_credential_is_a_failed_attempt_that_falls_back(
        gateway_factory: GatewayFactory, backup_openai: FakeOpenAI, where: str) -> None:
    """Found before the call (a required credential missing) or by the caller itself (a service
    account key that is not one), the deployment's own failure is recorded as a failed 401 attempt
    and the next deployment answers; nothing is retried against the deployment that cannot work."""
    primary = ("model: anthropic/claude-sonnet-4-5" if where == "configuration"
               else "model: vertexai/gemini-2.0-flash\n    credential: {service_account_key: '{\"type\": 1}'}")
    gw = gateway_factory(config=f"""
models:
  - name: primary
    {primary}
    fallbacks: [backup]
  - name: backup
    model: openai/gpt-4o
    credential: {{key: {VALID_KEY}, base_url: "{backup_openai.url}/v1"}}
""", **FAST_RETRIES)
    response = gw.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "r-cred"})
    assert response.status_code == 200, response.text
    assert backup_openai.last.body["model"] == "gpt-4o"
    [(first, _, status, http_status), second] = attempts_of(gw, "r-cred")
    assert (first, status, http_status) == (1, "FAILED", 401)
    assert second == (2, "gpt-4o", "SUCCESS", 200)
