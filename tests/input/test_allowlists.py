"""A key's model allow-list holds everywhere: fallbacks it may not use are skipped, and
``/v1/models`` shows it only what it may use."""

from __future__ import annotations

import pytest

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI

MASTER = "master-key-for-allowlist-tests"
CONFIG = """
models:
  - name: failing
    model: openai/gpt-4o-mini
    credential: {key: "sk-wrong"}
    fallbacks: [secret-model]
  - name: secret-model
    model: openai/gpt-4o
  - name: open-model
    model: openai/gpt-4o-mini
    fallbacks: [secret-model]
"""
HELLO = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                           config=CONFIG, master_key=MASTER)


def _key(gw: RunningGateway, models: list[str] | None) -> dict[str, str]:
    response = gw.http.post("/v1/keys", headers={"authorization": f"Bearer {MASTER}"},
                            json={"name": "limited", "models": models})
    assert response.status_code == 201, response.text
    return {"authorization": f"Bearer {response.json()['key']}"}


def test_a_fallback_the_key_may_not_use_is_skipped(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    headers = _key(gw, ["failing"])
    response = gw.http.post("/v1/chat/completions", headers=headers, json={"model": "failing", **HELLO})
    assert response.status_code == 401, response.text  # the primary's own failure, not secret-model's answer
    assert [r.body["model"] for r in fake_openai.requests] == ["gpt-4o-mini"]
    direct = gw.http.post("/v1/chat/completions", headers=headers, json={"model": "secret-model", **HELLO})
    assert direct.status_code == 403


def test_the_same_fallback_serves_a_key_that_may_use_it(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    headers = _key(gw, ["failing", "secret-model"])
    response = gw.http.post("/v1/chat/completions", headers=headers, json={"model": "failing", **HELLO})
    assert response.status_code == 200, response.text
    assert [r.body["model"] for r in fake_openai.requests] == ["gpt-4o-mini", "gpt-4o"]


def test_models_lists_only_what_the_key_may_use(gw: RunningGateway) -> None:
    listed = gw.http.get("/v1/models", headers=_key(gw, ["open-model"])).json()["data"]
    assert [m["id"] for m in listed] == ["open-model"]
    everything = gw.http.get("/v1/models", headers=_key(gw, None)).json()["data"]
    assert {m["id"] for m in everything} >= {"failing", "secret-model", "open-model"}
