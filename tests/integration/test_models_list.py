"""``GET /v1/models`` and ``GET /v1/models/{id}``: aliases, config-listed models and every configured
provider's upstream list, cached, with failing providers left out (fake upstreams over loopback)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes import anthropic_fake, minimax_fake, mistral_fake
from tests.fakes.azure_fake import FakeAzureOpenAI
from tests.fakes.openai_compatible_fake import FakeCompatible
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, openai_error
from tests.fakes.server import Scripted
from tests.openapi import assert_valid

CONFIG = """
models:
  - name: fast
    model: openai/gpt-4o-mini
providers:
  openai:
    models: [gpt-4o]
"""
MASTER = "master-key-for-tests"


@pytest.fixture
def fake_compatible() -> Iterator[FakeCompatible]:
    fake = FakeCompatible()
    fake.keyless = True
    fake.start()
    yield fake
    fake.stop()


def openai_env(fake: FakeOpenAI) -> dict[str, str]:
    return {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}


def ids(gw: RunningGateway, headers: dict[str, str] | None = None) -> list[str]:
    response = gw.http.get("/v1/models", headers=headers or {})
    assert response.status_code == 200, response.text
    assert_valid("ListModelsResponse", response.json())
    return [model["id"] for model in response.json()["data"]]


def model_gets(fake: FakeOpenAI) -> int:
    return sum(1 for r in fake.requests if (r.method, r.path.rsplit("/", 1)[-1]) == ("GET", "models"))


def test_lists_aliases_config_models_then_upstream_models(gateway_factory: GatewayFactory,
                                                           fake_openai: FakeOpenAI) -> None:
    gw = gateway_factory(env=openai_env(fake_openai), config=CONFIG)
    assert ids(gw) == ["fast", "openai/gpt-4o", "openai/gpt-4o-mini"]
    listed = gw.http.get("/v1/models").json()["data"][-1]
    assert listed == {"id": "openai/gpt-4o-mini", "object": "model", "created": 1_700_000_000, "owned_by": "openai"}
    assert fake_openai.last.headers["authorization"] == f"Bearer {VALID_KEY}"


def test_the_upstream_list_is_cached_for_the_ttl(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    cached = gateway_factory(env=openai_env(fake_openai))
    for _ in range(3):
        assert ids(cached) == ["openai/gpt-4o-mini"]
    assert model_gets(fake_openai) == 1
    uncached = gateway_factory(env=openai_env(fake_openai), models_cache_seconds=0)
    ids(uncached)
    ids(uncached)
    assert model_gets(fake_openai) == 3


def test_retrieve_takes_both_id_forms_and_404s_in_the_openai_envelope(gateway_factory: GatewayFactory,
                                                                      fake_openai: FakeOpenAI) -> None:
    gw = gateway_factory(env=openai_env(fake_openai), config=CONFIG)
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0)
    assert client.models.retrieve("openai/gpt-4o-mini").owned_by == "openai"
    assert client.models.retrieve("fast").id == "fast"
    assert gw.http.get("/v1/models/openai/gpt-4o").json()["id"] == "openai/gpt-4o"
    missing = gw.http.get("/v1/models/openai/no-such-model")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"message": "The model 'openai/no-such-model' does not exist.",
                                        "type": "not_found_error", "param": "model", "code": "model_not_found"}}
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")


def test_every_openai_format_provider_that_is_configured_is_listed(
        gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, fake_compatible: FakeCompatible) -> None:
    azure = FakeAzureOpenAI().start()
    try:
        env = {**openai_env(fake_openai), "LLAMACPP_BASE_URL": fake_compatible.url + "/v1",
               "GROQ_API_KEY": VALID_KEY, "GROQ_BASE_URL": fake_compatible.url + "/openai/v1",
               "AZURE_OPENAI_API_KEY": VALID_KEY, "AZURE_OPENAI_ENDPOINT": azure.url, "AZURE_OPENAI_API_VERSION": "v1"}
        gw = gateway_factory(env=env)
        assert ids(gw) == ["azure/gpt-4o-mini", "groq/gpt-4o-mini", "llamacpp/gpt-4o-mini", "openai/gpt-4o-mini"]
        assert [r.path for r in azure.requests] == ["/openai/v1/models"]
        assert sorted(r.path for r in fake_compatible.requests) == ["/openai/v1/models", "/v1/models"]
        assert [p.name for p in gw.app.state.models.providers()] == ["azure", "groq", "llamacpp", "openai"]
    finally:
        azure.stop()


def test_providers_with_their_own_list_call_are_listed(gateway_factory: GatewayFactory) -> None:
    fakes = [anthropic_fake.FakeAnthropic().start(), mistral_fake.FakeMistral().start(),
             minimax_fake.FakeMiniMax().start()]
    anthropic, mistral, minimax = fakes
    try:
        env = {"ANTHROPIC_API_KEY": anthropic_fake.VALID_KEY, "ANTHROPIC_BASE_URL": anthropic.url,
               "MISTRAL_API_KEY": mistral_fake.VALID_KEY, "MISTRAL_BASE_URL": mistral.url,
               "MINIMAX_API_KEY": minimax_fake.VALID_KEY, "MINIMAX_BASE_URL": minimax.url + "/v1"}
        gw = gateway_factory(env=env)
        assert ids(gw) == [f"anthropic/{anthropic_fake.MODEL}", "minimax/MiniMax-M2", f"mistral/{mistral_fake.MODEL}"]
        assert anthropic.last.query == {"limit": "1000"}
    finally:
        for fake in fakes:
            fake.stop()


def test_unconfigured_keyless_presets_are_not_asked(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = gateway_factory(env=openai_env(fake_openai))
    ids(gw)
    assert [p.name for p in gw.app.state.models.providers()] == ["openai"]


@pytest.mark.parametrize("answer", [
    openai_error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"),
    Scripted(status=500, json={"error": {"message": "boom", "type": "server_error"}}),
    Scripted(json={"object": "list"}),
    Scripted(raw=b"<html>", media_type="text/html"),
    Scripted(json={"data": []}, delay=1.5),
], ids=["401", "500", "no-data", "not-json", "too-slow"])
def test_a_failing_provider_is_left_out_and_logged(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                                   fake_compatible: FakeCompatible, answer: Scripted,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    env = {**openai_env(fake_openai), "LLAMACPP_BASE_URL": fake_compatible.url + "/v1"}
    gw = gateway_factory(env=env, config=CONFIG, models_timeout=0.5)
    fake_openai.enqueue(answer)
    with caplog.at_level(logging.WARNING, logger="gateway.models"):
        assert ids(gw) == ["fast", "openai/gpt-4o", "llamacpp/gpt-4o-mini"]
    warnings = [r for r in caplog.records if r.name == "gateway.models" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "left openai out of /v1/models" in warnings[0].getMessage()
    assert VALID_KEY not in warnings[0].getMessage()


def test_an_unreachable_provider_is_left_out(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    env = {**openai_env(fake_openai), "VLLM_BASE_URL": "http://127.0.0.1:9/v1"}
    gw = gateway_factory(env=env)
    assert ids(gw) == ["openai/gpt-4o-mini"]


def test_a_keys_model_allow_list_filters_the_listing(gateway_factory: GatewayFactory,
                                                     fake_openai: FakeOpenAI) -> None:
    gw = gateway_factory(env=openai_env(fake_openai), config=CONFIG, master_key=MASTER)
    created: dict[str, Any] = gw.http.post("/v1/keys", json={"name": "team", "models": ["openai/gpt-4o-mini"]},
                                           headers={"authorization": f"Bearer {MASTER}"}).json()
    team = {"authorization": f"Bearer {created['key']}"}
    assert ids(gw, team) == ["openai/gpt-4o-mini"]
    assert gw.http.get("/v1/models/fast", headers=team).status_code == 404
    assert ids(gw, {"authorization": f"Bearer {MASTER}"}) == ["fast", "openai/gpt-4o", "openai/gpt-4o-mini"]
