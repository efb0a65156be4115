"""End to end: the official ``openai`` SDK -> the running gateway -> the fake Azure data plane."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.azure_fake import FakeAzureOpenAI, azure_error, content_filter_error
from tests.fakes.openai_fake import VALID_KEY, chunk
from tests.fakes.server import Scripted, sse
from tests.openapi import assert_valid

WEATHER: Any = {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                                 "parameters": {"type": "object",
                                                                "properties": {"city": {"type": "string"}}}}}
CHOOSE_WEATHER: Any = {"type": "function", "function": {"name": "get_weather"}}
HI: Any = [{"role": "user", "content": "hi"}]


def start(factory: GatewayFactory, fake: FakeAzureOpenAI, key: str = VALID_KEY, **env: str) -> RunningGateway:
    """A gateway whose ``azure`` provider reaches the fake (``AZURE_BASE_URL`` wins over the endpoint).

    Gateway retries are off, so each scripted upstream error answers exactly one client call.
    """
    return factory(env={"AZURE_OPENAI_API_KEY": key, "AZURE_OPENAI_ENDPOINT": "https://unused.example",
                        "AZURE_BASE_URL": fake.url, **env}, max_retries=0)


def client(gw: RunningGateway) -> OpenAI:
    return OpenAI(base_url=gw.url + "/v1", api_key="client-key", max_retries=0)


def test_chat_and_its_record(gateway_factory: GatewayFactory, fake_azure: FakeAzureOpenAI) -> None:
    gw = start(gateway_factory, fake_azure)
    reply = client(gw).chat.completions.create(model="azure/gpt-4o", messages=HI, max_tokens=20)
    assert reply.choices[0].message.content == "echo: hi" and reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (11, 7)
    sent = fake_azure.last
    assert (sent.path, sent.query, sent.headers["api-key"]) == (
        "/openai/deployments/gpt-4o/chat/completions", {"api-version": "2024-10-21"}, VALID_KEY)
    assert sent.body["max_completion_tokens"] == 20
    [record] = gw.records()
    assert (record["provider"], record["status"], record["http_status"]) == ("azure", "SUCCESS", 200)
    assert (record["input_tokens"], record["output_tokens"], record["total_tokens"]) == (11, 7, 18)


def test_stream_chunks_follow_openais_schema_and_usage_is_recorded(gateway_factory: GatewayFactory,
                                                                  fake_azure: FakeAzureOpenAI) -> None:
    gw = start(gateway_factory, fake_azure)
    stream = client(gw).chat.completions.create(model="azure/gpt-4o", messages=[{"role": "user", "content": "a b c"}],
                                                stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    for item in chunks:
        assert_valid("CreateChatCompletionStreamResponse", item.model_dump(exclude_unset=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: a b c"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    [record] = gw.records()
    assert (record["provider"], record["stream"], record["status"]) == ("azure", True, "SUCCESS")
    assert (record["input_tokens"], record["output_tokens"]) == (11, 4)


def test_tool_calls_with_and_without_streaming(gateway_factory: GatewayFactory, fake_azure: FakeAzureOpenAI) -> None:
    sdk = client(start(gateway_factory, fake_azure))
    reply = sdk.chat.completions.create(model="azure/gpt-4o", messages=HI, tools=[WEATHER],
                                        tool_choice=CHOOSE_WEATHER)
    call = (reply.choices[0].message.tool_calls or [])[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert reply.choices[0].finish_reason == "tool_calls"
    assert fake_azure.last.body["tool_choice"] == CHOOSE_WEATHER

    chunks = list(sdk.chat.completions.create(model="azure/gpt-4o", messages=HI, tools=[WEATHER],
                                              tool_choice=CHOOSE_WEATHER, stream=True))
    for item in chunks:
        assert_valid("CreateChatCompletionStreamResponse", item.model_dump(exclude_unset=True))
    deltas = [t for c in chunks if c.choices for t in (c.choices[0].delta.tool_calls or [])]
    assert [(d.index, d.id, d.function.name if d.function else None) for d in deltas] == [
        (0, "call_1", "get_weather")]
    assert deltas[0].function is not None and json.loads(deltas[0].function.arguments or "") == {"city": "Paris"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


def test_v1_form_through_the_gateway(gateway_factory: GatewayFactory, fake_azure: FakeAzureOpenAI) -> None:
    gw = start(gateway_factory, fake_azure, AZURE_OPENAI_API_VERSION="v1")
    reply = client(gw).chat.completions.create(model="azure/gpt-4o", messages=HI)
    assert reply.choices[0].message.content == "echo: hi"
    assert (fake_azure.last.path, fake_azure.last.query, fake_azure.last.body["model"]) == (
        "/openai/v1/chat/completions", {}, "gpt-4o")


def test_a_wrong_key_is_an_authentication_error(gateway_factory: GatewayFactory,
                                                fake_azure: FakeAzureOpenAI) -> None:
    gw = start(gateway_factory, fake_azure, key="wrong")
    with pytest.raises(openai.AuthenticationError, match="Access denied"):
        client(gw).chat.completions.create(model="azure/gpt-4o", messages=HI)
    response = gw.http.post("/v1/credentials/verify", json={"provider": "azure"})
    assert response.status_code == 200 and response.json()["valid"] is False
    assert [r.path for r in fake_azure.requests][-1] == "/openai/models"


def test_rate_limit_server_error_and_content_filter(gateway_factory: GatewayFactory,
                                                   fake_azure: FakeAzureOpenAI) -> None:
    gw = start(gateway_factory, fake_azure)
    sdk = client(gw)
    fake_azure.enqueue(azure_error(429, "429", "Rate limit is exceeded.", {"retry-after": "9"}))
    with pytest.raises(openai.RateLimitError) as limited:
        sdk.chat.completions.create(model="azure/gpt-4o", messages=HI)
    assert limited.value.response.headers["retry-after"] == "9"
    fake_azure.enqueue(azure_error(500, "InternalServerError", "The server had an error."))
    with pytest.raises(openai.InternalServerError) as broken:
        sdk.chat.completions.create(model="azure/gpt-4o", messages=HI)
    assert broken.value.status_code == 502
    fake_azure.enqueue(content_filter_error())
    with pytest.raises(openai.BadRequestError) as filtered:
        sdk.chat.completions.create(model="azure/gpt-4o", messages=HI)
    assert filtered.value.code == "content_filter"
    statuses = sorted(r["http_status"] for r in gw.records())
    assert statuses == [400, 429, 502]


def test_an_unsupported_parameter_is_refused_before_azure(gateway_factory: GatewayFactory,
                                                          fake_azure: FakeAzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client(start(gateway_factory, fake_azure)).chat.completions.create(
            model="azure/gpt-4o", messages=HI, service_tier="auto")
    assert refused.value.param == "service_tier" and fake_azure.requests == []


def test_embeddings_through_the_gateway(gateway_factory: GatewayFactory, fake_azure: FakeAzureOpenAI) -> None:
    result = client(start(gateway_factory, fake_azure)).embeddings.create(model="azure/te3", input=["x", "y z"],
                                                                          dimensions=6)
    assert [len(d.embedding) for d in result.data] == [6, 6] and result.usage.prompt_tokens == 3
    assert fake_azure.last.path == "/openai/deployments/te3/embeddings"


def test_an_error_event_mid_stream_reaches_the_sdk_in_band(gateway_factory: GatewayFactory,
                                                          fake_azure: FakeAzureOpenAI) -> None:
    gw = start(gateway_factory, fake_azure)
    frames = sse([chunk({"role": "assistant", "content": "par"}),
                  {"error": {"code": "server_error", "message": "backend went away"}}])
    fake_azure.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    received: list[str] = []
    with pytest.raises(openai.APIError, match="backend went away"):
        for item in client(gw).chat.completions.create(model="azure/gpt-4o", messages=HI, stream=True):
            received.extend(c.delta.content or "" for c in item.choices)
    assert "".join(received) == "par"
    [record] = gw.records()
    assert (record["provider"], record["status"]) == ("azure", "FAILED")
