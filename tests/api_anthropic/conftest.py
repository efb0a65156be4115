"""Fixtures: a gateway with the fake OpenAI and fake Anthropic upstreams, the official
``anthropic`` client pointed at it, and an SSE reader for raw streams."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import orjson
import pytest

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes import anthropic_fake, openai_fake
from tests.fakes.anthropic_fake import FakeAnthropic
from tests.fakes.openai_fake import FakeOpenAI

TRANSLATED = "openai/gpt-4o-mini"
NATIVE = f"anthropic/{anthropic_fake.MODEL}"


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic()
    fake.start()
    yield fake
    fake.stop()


def config(fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic) -> str:
    """``claude`` aliases the Anthropic model and falls back to ``backup`` (OpenAI)."""
    return f"""
models:
  - name: claude
    model: {NATIVE}
    credential: {{key: {anthropic_fake.VALID_KEY}, base_url: "{fake_anthropic.url}"}}
    fallbacks: [backup]
  - name: backup
    model: {TRANSLATED}
    credential: {{key: {openai_fake.VALID_KEY}, base_url: "{fake_openai.url}/v1"}}
"""


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic) -> RunningGateway:
    env = {"OPENAI_API_KEY": openai_fake.VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1",
           "ANTHROPIC_API_KEY": anthropic_fake.VALID_KEY, "ANTHROPIC_BASE_URL": fake_anthropic.url}
    return gateway_factory(env=env, config=config(fake_openai, fake_anthropic))


def client(gw: RunningGateway, key: str = "gateway-key") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=key, max_retries=0)


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``(event line, parsed data)`` of each frame of a raw ``text/event-stream`` body."""
    events = []
    for frame in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.split("\n"))
        events.append((lines["event"], orjson.loads(lines["data"])))
    return events


def raw_stream(gw: RunningGateway, body: dict[str, Any], **headers: str) -> list[tuple[str, dict[str, Any]]]:
    response = gw.http.post("/v1/messages", json={**body, "stream": True}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return sse_events(response.text)


def record(gw: RunningGateway, request_id: str) -> dict[str, Any]:
    found = [r for r in gw.records() if r["request_id"] == request_id]
    assert len(found) == 1
    return found[0]
