"""End to end: the official ``openai`` SDK -> the running gateway -> the fake Replicate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.replicate_fake import VALID_TOKEN, FakeReplicate, problem, replicate_sse
from tests.fakes.server import Scripted
from tests.openapi import assert_valid

MODEL = "replicate/meta/meta-llama-3-8b-instruct"
MESSAGES: Any = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]
TOOLS: Any = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_replicate: FakeReplicate) -> RunningGateway:
    return gateway_factory(env={"REPLICATE_API_TOKEN": VALID_TOKEN, "REPLICATE_BASE_URL": fake_replicate.url},
                           max_retries=0)


@pytest.fixture
def client(gw: RunningGateway) -> Iterator[OpenAI]:
    with OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0) as sdk:
        yield sdk


def test_chat(client: OpenAI, gw: RunningGateway, fake_replicate: FakeReplicate) -> None:
    out = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=20, stop=["END"], top_p=0.9)
    assert out.choices[0].message.content == "echo: hello there"
    assert out.choices[0].finish_reason == "stop"
    assert out.usage is not None and (out.usage.prompt_tokens, out.usage.completion_tokens) == (2, 3)
    sent = fake_replicate.requests[0]
    assert sent.path == "/v1/models/meta/meta-llama-3-8b-instruct/predictions"
    assert sent.body["input"] == {"prompt": "hello there", "system_prompt": "Be brief.", "top_p": 0.9,
                                  "max_tokens": 20, "stop_sequences": "END"}
    [record] = gw.records()
    assert (record["provider"], record["status"], record["input_tokens"], record["output_tokens"]) == (
        "replicate", "SUCCESS", 2, 3)


def test_stream_chunks_are_valid_and_usage_is_recorded(client: OpenAI, gw: RunningGateway) -> None:
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                                 stream_options={"include_usage": True}))
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hello there"
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (2, 3)
    [record] = gw.records()
    assert (record["status"], record["input_tokens"], record["output_tokens"], record["stream"]) == (
        "SUCCESS", 2, 3, True)


def test_tools_are_refused_stream_and_non_stream(client: OpenAI, fake_replicate: FakeReplicate) -> None:
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS, stream=stream)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES, response_format={"type": "json_object"})
    assert fake_replicate.requests == []


def test_an_error_event_in_the_stream_reaches_the_client(client: OpenAI, gw: RunningGateway,
                                                         fake_replicate: FakeReplicate) -> None:
    fake_replicate.enqueue(Scripted(status=201, json=fake_replicate.prediction(status="starting", stream=True)),
                           Scripted(stream=replicate_sse(["par"], error="Something went wrong"),
                                    media_type="text/event-stream"))
    with pytest.raises(openai.APIError, match="Something went wrong"):
        list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    [record] = gw.records()
    assert record["status"] == "FAILED"


def test_errors_raise_the_matching_sdk_exceptions(client: OpenAI, gw: RunningGateway,
                                                  fake_replicate: FakeReplicate) -> None:
    fake_replicate.enqueue(problem(401, "Unauthenticated", "You did not pass a valid authentication token"))
    with pytest.raises(openai.AuthenticationError, match="valid authentication token"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    fake_replicate.enqueue(problem(429, "Too Many Requests", "Request was throttled.", {"retry-after": "3"}))
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert limited.value.response.headers["retry-after"] == "3"
    fake_replicate.enqueue(problem(500, "Internal Server Error", "Something broke"))
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    assert failed.value.status_code == 502
    assert sorted(r["http_status"] for r in gw.records()) == [401, 429, 502]


def test_verify_endpoint(gw: RunningGateway, fake_replicate: FakeReplicate) -> None:
    good = gw.http.post("/v1/credentials/verify", json={"provider": "replicate"})
    assert good.status_code == 200 and good.json()["valid"] is True
    bad = gw.http.post("/v1/credentials/verify", json={"provider": "replicate", "credential": {
        "key": "r8_bad", "base_url": fake_replicate.url}})
    assert bad.status_code == 200 and bad.json()["valid"] is False
