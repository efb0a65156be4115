"""Errors on the Anthropic routes arrive in Anthropic's envelope with the matching status,
whoever raised them, so the SDK raises its matching class; and ``count_tokens``."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tests.api_anthropic.conftest import NATIVE, TRANSLATED, client, record
from tests.api_anthropic.event_shapes import ERROR, validate
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes import gemini_fake, openai_fake
from tests.fakes.anthropic_fake import COUNTED, MODEL, FakeAnthropic
from tests.fakes.gemini_fake import FakeGemini
from tests.fakes.openai_fake import FakeOpenAI, openai_error

HELLO: Any = [{"role": "user", "content": "hello there"}]
MASTER = "gw-master-key"


@pytest.fixture
def locked(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    env = {"OPENAI_API_KEY": openai_fake.VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"}
    return gateway_factory(env=env, master_key=MASTER, max_body_bytes=4096)


def test_gateway_key_as_x_api_key_or_bearer(locked: RunningGateway) -> None:
    body = {"model": TRANSLATED, "max_tokens": 8, "messages": HELLO}
    for headers in ({"x-api-key": MASTER}, {"authorization": f"Bearer {MASTER}"}):
        assert locked.http.post("/v1/messages", json=body, headers=headers).status_code == 200
    assert client(locked, key=MASTER).messages.create(**body).role == "assistant"


def test_401_from_the_auth_middleware(locked: RunningGateway) -> None:
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client(locked, key="wrong").messages.create(model=TRANSLATED, max_tokens=8, messages=HELLO)
    validate(ERROR, caught.value.body)
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    raw = locked.http.post("/v1/messages/count_tokens", json={}, headers={"x-api-key": "wrong"})
    assert (raw.status_code, raw.json()["error"]["type"]) == (401, "authentication_error")
    assert raw.json()["request_id"] == raw.headers["x-request-id"]


def test_413_and_validation_errors(locked: RunningGateway) -> None:
    auth = {"x-api-key": MASTER}
    big = locked.http.post("/v1/messages", headers=auth, json={"model": TRANSLATED, "max_tokens": 8,
                                                                "messages": [{"role": "user", "content": "x" * 8000}]})
    assert (big.status_code, big.json()["error"]["type"]) == (413, "request_too_large")
    missing = locked.http.post("/v1/messages", headers=auth, json={"model": TRANSLATED, "messages": HELLO})
    assert missing.status_code == 400
    validate(ERROR, missing.json())
    assert "max_tokens" in missing.json()["error"]["message"]
    with pytest.raises(anthropic.BadRequestError):
        client(locked, key=MASTER).messages.create(model=TRANSLATED, max_tokens=8, messages=HELLO,
                                                   extra_body={"temperature": 5})
    other = locked.http.post("/v1/chat/completions", headers=auth, json={"model": TRANSLATED})
    assert "type" in other.json()["error"], "other routes keep the OpenAI envelope"


def test_404_unknown_model(gw: RunningGateway) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client(gw).messages.create(model="nope/nothing", max_tokens=8, messages=HELLO)
    assert caught.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]


@pytest.mark.parametrize("stream", [False, True])
def test_429_upstream_before_the_first_byte(gw: RunningGateway, fake_openai: FakeOpenAI, stream: bool) -> None:
    fake_openai.enqueue(openai_error(429, "Rate limit reached", "requests", "rate_limit_exceeded",
                                     headers={"retry-after": "2"}))
    with pytest.raises(anthropic.RateLimitError) as caught:
        client(gw).messages.create(model=TRANSLATED, max_tokens=8, messages=HELLO, stream=stream)
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


def test_count_tokens_native(gw: RunningGateway, fake_anthropic: FakeAnthropic) -> None:
    system: Any = [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}]
    counted = client(gw).messages.count_tokens(model=NATIVE, messages=HELLO, system=system,
                                               extra_headers={"x-request-id": "c-native"})
    assert counted.input_tokens == COUNTED
    sent = fake_anthropic.last
    assert (sent.path, sent.body) == ("/v1/messages/count_tokens", {"model": MODEL, "messages": HELLO,
                                                                    "system": system})
    rec = record(gw, "c-native")
    assert (rec["endpoint"], rec["provider"], rec["status"]) == ("messages.count_tokens", "anthropic", "SUCCESS")


def test_count_tokens_estimated(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    before = len(fake_openai.requests)
    short = client(gw).messages.count_tokens(model=TRANSLATED, messages=HELLO)
    long = client(gw).messages.count_tokens(model=TRANSLATED, messages=[{"role": "user", "content": "word " * 400}],
                                            extra_headers={"x-request-id": "c-estimate"})
    assert 0 < short.input_tokens < long.input_tokens
    assert len(fake_openai.requests) == before
    assert record(gw, "c-estimate")["endpoint"] == "messages.count_tokens"


def test_count_tokens_by_a_provider_token_counter(gateway_factory: GatewayFactory) -> None:
    """Gemini counts with ``models.countTokens``; the fake counts the words of the text parts."""
    fake = FakeGemini().start()
    try:
        gw = gateway_factory(env={"GEMINI_API_KEY": gemini_fake.VALID_KEY, "GEMINI_BASE_URL": fake.url})
        counted = client(gw).messages.count_tokens(model="gemini/gemini-2.5-flash", system="be very brief",
                                                   messages=HELLO, extra_headers={"x-request-id": "c-gemini"})
        assert counted.input_tokens == 5
        sent = fake.last
        assert sent.path == "/v1beta/models/gemini-2.5-flash:countTokens"
        assert sent.body["generateContentRequest"]["model"] == "models/gemini-2.5-flash"
        rec = record(gw, "c-gemini")
        assert (rec["endpoint"], rec["provider"], rec["status"]) == ("messages.count_tokens", "gemini", "SUCCESS")
    finally:
        fake.stop()
