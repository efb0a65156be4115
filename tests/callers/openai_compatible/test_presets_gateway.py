"""Every preset through the running gateway against one fake OpenAI-format server.

Each preset's environment points it at the fake under the vendor's own base path,
so the path, the auth header (or its absence) and the body that go out are what
the vendor would receive.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.callers.openai_compatible import PROFILES, Profile
from gateway.core import params as p
from tests.callers.openai_compatible.support import prefix, start_preset
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_compatible_fake import FakeCompatible
from tests.fakes.openai_fake import VALID_KEY

IDS = [profile.name for profile in PROFILES]
SAMPLES: dict[str, Any] = {
    p.STORE: True, p.METADATA: {"k": "v"}, p.SERVICE_TIER: "auto", p.LOGPROBS: True, p.TOP_LOGPROBS: 2,
    p.LOGIT_BIAS: {"50256": -100}, p.N: 2, p.SEED: 7, p.USER: "u-1", p.PARALLEL_TOOL_CALLS: False,
    p.REASONING_EFFORT: "low", p.FREQUENCY_PENALTY: 0.5, p.PRESENCE_PENALTY: 0.5,
}
# OpenAI's schema (enforced by the gateway) accepts top_logprobs only with logprobs.
COMPANIONS = {p.TOP_LOGPROBS: (p.LOGPROBS,)}
MESSAGES = [{"role": "developer", "content": "be brief"}, {"role": "user", "content": "hi"}]


def stream_frames(gw: RunningGateway, body: dict[str, Any]) -> list[str]:
    with gw.http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200, response.read()
        return [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]


def check_chat(gw: RunningGateway, profile: Profile, fake: FakeCompatible) -> None:
    response = gw.http.post("/v1/chat/completions", json={"model": f"{profile.name}/m-1", "messages": MESSAGES,
                                                          "max_tokens": 5})
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "echo: hi"
    sent = fake.last
    assert sent.path == prefix(profile) + "/chat/completions"
    expected_auth = f"Bearer {VALID_KEY}" if profile.key_required else None
    assert sent.headers.get("authorization") == expected_auth
    assert sent.body["model"] == "m-1" and sent.body[profile.quirks.max_tokens_field or "max_tokens"] == 5
    assert [m["role"] for m in sent.body["messages"]] == ["system", "user"]


def check_stream(gw: RunningGateway, profile: Profile, fake: FakeCompatible) -> None:
    frames = stream_frames(gw, {"model": f"{profile.name}/m-1", "messages": MESSAGES, "stream": True})
    assert frames[-1] == "[DONE]"
    chunks = [orjson.loads(frame) for frame in frames[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "echo: hi"
    assert fake.last.path == prefix(profile) + "/chat/completions" and fake.last.body["stream"] is True
    assert ("stream_options" in fake.last.body) == profile.quirks.stream_usage


def check_verify(gw: RunningGateway, profile: Profile, fake: FakeCompatible) -> None:
    response = gw.http.post("/v1/credentials/verify", json={"provider": profile.name})
    assert response.status_code == 200 and response.json()["valid"] is True, response.text
    verify_path = profile.verify_path
    assert (fake.last.method, fake.last.path) == ("GET", f"{prefix(profile)}/{verify_path}")


def check_refusals(gw: RunningGateway, profile: Profile, fake: FakeCompatible) -> None:
    sent_before = len(fake.requests)
    for key in sorted(profile.excluded):
        keys = {key, *COMPANIONS.get(key, ())}
        fields = {p.field_name(k): SAMPLES[k] for k in keys}
        response = gw.http.post("/v1/chat/completions", json={"model": f"{profile.name}/m-1", "messages": MESSAGES,
                                                              **fields})
        assert response.status_code == 400, (fields, response.text)
        error = response.json()["error"]
        named = p.field_name(min(keys & profile.excluded))
        assert (error["param"], error["code"]) == (named, "unsupported_parameter")
        assert profile.name in error["message"]
    assert len(fake.requests) == sent_before


@pytest.mark.parametrize("profile", PROFILES, ids=IDS)
def test_preset_chat_stream_verify_and_refusals(profile: Profile, gateway_factory: GatewayFactory,
                                                fake_compatible: FakeCompatible) -> None:
    gw = start_preset(gateway_factory, profile, fake_compatible)
    check_chat(gw, profile, fake_compatible)
    check_stream(gw, profile, fake_compatible)
    check_verify(gw, profile, fake_compatible)
    check_refusals(gw, profile, fake_compatible)
    assert {r["provider"] for r in gw.records()} == {profile.name}


@pytest.mark.parametrize("profile", PROFILES, ids=IDS)
def test_a_wrong_key_makes_verification_fail(profile: Profile, gateway_factory: GatewayFactory,
                                             fake_compatible: FakeCompatible) -> None:
    gw = start_preset(gateway_factory, profile, fake_compatible, key="sk-wrong")
    response = gw.http.post("/v1/credentials/verify", json={"provider": profile.name})
    assert response.status_code == 200 and response.json()["valid"] is False, response.text
    assert fake_compatible.last.headers["authorization"] == "Bearer sk-wrong"


@pytest.mark.parametrize("profile", PROFILES, ids=IDS)
def test_embeddings_where_the_vendor_offers_them(profile: Profile, gateway_factory: GatewayFactory,
                                                 fake_compatible: FakeCompatible) -> None:
    gw = start_preset(gateway_factory, profile, fake_compatible)
    body: dict[str, Any] = {"model": f"{profile.name}/e-1", "input": ["a", "b c"], "encoding_format": "float"}
    response = gw.http.post("/v1/embeddings", json=body)
    if not profile.embeddings:
        assert response.status_code == 400 and response.json()["error"]["code"] == "unsupported_capability"
        assert fake_compatible.requests == []
        return
    assert response.status_code == 200, response.text
    assert [len(item["embedding"]) for item in response.json()["data"]] == [8, 8]
    assert fake_compatible.last.path == prefix(profile) + "/embeddings"
    sized = gw.http.post("/v1/embeddings", json={**body, "dimensions": 3})
    if profile.quirks.embedding_dimensions:
        assert [len(item["embedding"]) for item in sized.json()["data"]] == [3, 3]
    else:
        assert sized.status_code == 400 and sized.json()["error"]["param"] == "dimensions"


def test_providers_listing_shows_which_presets_are_configured(gateway_factory: GatewayFactory,
                                                             fake_compatible: FakeCompatible) -> None:
    gw = gateway_factory(env={"GROQ_API_KEY": VALID_KEY})
    listed = {item["name"]: item for item in gw.http.get("/v1/providers").json()["data"]}
    assert listed["groq"]["configured"] and not listed["together"]["configured"]
    assert listed["ollama"]["configured"], "a keyless local server needs no credential"
    assert listed["deepseek"]["environment"] == ["DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL"]
    assert listed["groq"]["capabilities"]["embeddings"] is False
    assert listed["together"]["capabilities"]["embeddings"] is True
