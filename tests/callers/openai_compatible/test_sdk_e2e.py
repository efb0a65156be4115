"""End to end: the official ``openai`` SDK -> the running gateway -> a preset -> the fake server.

Run for a keyed preset (groq) and a keyless local one (ollama).
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.callers.openai_compatible.support import BY_NAME, prefix, start_preset
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_compatible_fake import FakeCompatible
from tests.fakes.openai_fake import VALID_KEY, openai_error
from tests.openapi import assert_valid

PRESETS = ["groq", "ollama"]
WEATHER: Any = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}
CHOOSE_WEATHER: Any = {"type": "function", "function": {"name": "get_weather"}}
HI: Any = [{"role": "user", "content": "hi there"}]


def sdk(gw: RunningGateway) -> OpenAI:
    return OpenAI(base_url=gw.url + "/v1", api_key="client-key", max_retries=0)


def started(factory: GatewayFactory, name: str, fake: FakeCompatible) -> RunningGateway:
    return start_preset(factory, BY_NAME[name], fake)


@pytest.mark.parametrize("name", PRESETS)
def test_chat_and_stream_with_usage_records(name: str, gateway_factory: GatewayFactory,
                                            fake_compatible: FakeCompatible) -> None:
    gw = started(gateway_factory, name, fake_compatible)
    client = sdk(gw)
    reply = client.chat.completions.create(model=f"{name}/llama-3.1-8b", messages=HI, temperature=0.1, stop=["END"])
    assert reply.choices[0].message.content == "echo: hi there" and reply.model == f"{name}/llama-3.1-8b"
    assert fake_compatible.last.body["stop"] == ["END"] and fake_compatible.last.body["temperature"] == 0.1
    chunks = list(client.chat.completions.create(model=f"{name}/llama-3.1-8b", messages=HI, stream=True,
                                                 stream_options={"include_usage": True}))
    for item in chunks:
        assert_valid("CreateChatCompletionStreamResponse", item.model_dump(exclude_unset=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hi there"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    assert fake_compatible.last.path == prefix(BY_NAME[name]) + "/chat/completions"
    records = sorted(gw.records(), key=lambda r: r["stream"])
    assert [(r["provider"], r["status"], r["output_tokens"]) for r in records] == [
        (name, "SUCCESS", 7), (name, "SUCCESS", 3)]


@pytest.mark.parametrize("name", PRESETS)
def test_tool_calls_with_and_without_streaming(name: str, gateway_factory: GatewayFactory,
                                               fake_compatible: FakeCompatible) -> None:
    client = sdk(started(gateway_factory, name, fake_compatible))
    reply = client.chat.completions.create(model=f"{name}/m", messages=HI, tools=[WEATHER], tool_choice=CHOOSE_WEATHER)
    [call] = reply.choices[0].message.tool_calls or []
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert fake_compatible.last.body["tools"] == [WEATHER]
    chunks = list(client.chat.completions.create(model=f"{name}/m", messages=HI, tools=[WEATHER],
                                                 tool_choice=CHOOSE_WEATHER, stream=True))
    for item in chunks:
        assert_valid("CreateChatCompletionStreamResponse", item.model_dump(exclude_unset=True))
    deltas = [t for c in chunks if c.choices for t in (c.choices[0].delta.tool_calls or [])]
    assert [(d.index, d.id) for d in deltas] == [(0, "call_1")]
    assert deltas[0].function is not None and json.loads(deltas[0].function.arguments or "") == {"city": "Paris"}


@pytest.mark.parametrize("name", PRESETS)
def test_upstream_errors_raise_the_matching_sdk_exceptions(name: str, gateway_factory: GatewayFactory,
                                                           fake_compatible: FakeCompatible) -> None:
    gw = started(gateway_factory, name, fake_compatible)
    client = sdk(gw)
    fake_compatible.enqueue(openai_error(401, "Invalid API Key", "invalid_request_error", "invalid_api_key"),
                            openai_error(429, "Rate limit reached", "tokens", "rate_limit_exceeded",
                                         {"retry-after": "4"}),
                            openai_error(500, "Internal server error", "internal_server_error"))
    with pytest.raises(openai.AuthenticationError, match="Invalid API Key"):
        client.chat.completions.create(model=f"{name}/m", messages=HI)
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model=f"{name}/m", messages=HI)
    assert limited.value.response.headers["retry-after"] == "4"
    with pytest.raises(openai.InternalServerError) as broken:
        client.chat.completions.create(model=f"{name}/m", messages=HI)
    assert broken.value.status_code == 502
    assert sorted(r["http_status"] for r in gw.records()) == [401, 429, 502]


def test_a_keyless_preset_sends_a_key_when_one_is_configured(gateway_factory: GatewayFactory,
                                                              fake_compatible: FakeCompatible) -> None:
    gw = start_preset(gateway_factory, BY_NAME["vllm"], fake_compatible, key=VALID_KEY)
    reply = sdk(gw).chat.completions.create(model="vllm/Qwen/Qwen2.5-1.5B-Instruct", messages=HI)
    assert reply.choices[0].message.content == "echo: hi there"
    assert fake_compatible.last.headers["authorization"] == f"Bearer {VALID_KEY}"
    assert fake_compatible.last.body["model"] == "Qwen/Qwen2.5-1.5B-Instruct"
