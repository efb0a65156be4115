"""End to end: the official ``openai`` SDK -> the running gateway -> the fake Hugging Face."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.huggingface_fake import VALID_TOKEN, FakeHuggingFace, hf_error
from tests.fakes.openai_fake import tool_call_stream
from tests.fakes.server import Scripted
from tests.openapi import assert_valid

MODEL = "huggingface/meta-llama/Llama-3.1-8B-Instruct:fastest"
TOOLS: list[Any] = [{"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_hf: FakeHuggingFace) -> RunningGateway:
    return gateway_factory(env={"HF_TOKEN": VALID_TOKEN, "HUGGINGFACE_BASE_URL": fake_hf.url},
                           max_retries=0)


@pytest.fixture
def client(gw: RunningGateway) -> Iterator[OpenAI]:
    with OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0) as sdk:
        yield sdk


def test_chat(client: OpenAI, gw: RunningGateway, fake_hf: FakeHuggingFace) -> None:
    out = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello"}], max_tokens=5)
    assert out.choices[0].message.content == "echo: hello"
    assert out.usage is not None and (out.usage.prompt_tokens, out.usage.completion_tokens) == (11, 7)
    assert fake_hf.last.body["model"] == "meta-llama/Llama-3.1-8B-Instruct:fastest"
    assert fake_hf.last.body["max_tokens"] == 5
    [record] = gw.records()
    assert (record["provider"], record["status"], record["input_tokens"], record["output_tokens"]) == (
        "huggingface", "SUCCESS", 11, 7)


def test_stream_chunks_are_valid_and_usage_is_recorded(client: OpenAI, gw: RunningGateway) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello there"}],
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hello there"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    [record] = gw.records()
    assert (record["provider"], record["status"], record["output_tokens"], record["stream"]) == (
        "huggingface", "SUCCESS", 3, True)


def test_tool_calls_stream_and_non_stream(client: OpenAI, fake_hf: FakeHuggingFace) -> None:
    choice: Any = {"type": "function", "function": {"name": "get_weather"}}
    out = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "weather?"}],
                                         tools=TOOLS, tool_choice=choice)
    calls = out.choices[0].message.tool_calls
    assert calls is not None and calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    assert out.choices[0].finish_reason == "tool_calls"
    fake_hf.enqueue(Scripted(stream=tool_call_stream([("call_9", "get_weather", ['{"city": ', '"Oslo"}'])]),
                             media_type="text/event-stream"))
    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "weather?"}],
                                                 tools=TOOLS, stream=True))
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].id == "call_9" and deltas[0].function is not None
    assert "".join(d.function.arguments or "" for d in deltas if d.function) == '{"city": "Oslo"}'
    assert fake_hf.last.body["tools"][0]["function"]["name"] == "get_weather"


def test_embeddings(client: OpenAI, fake_hf: FakeHuggingFace) -> None:
    out = client.embeddings.create(model="huggingface/BAAI/bge-small-en-v1.5", input=["one", "two"])
    assert [len(item.embedding) for item in out.data] == [8, 8]
    assert fake_hf.last.path == "/hf-inference/models/BAAI/bge-small-en-v1.5/pipeline/feature-extraction"
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="huggingface/BAAI/bge-small-en-v1.5", input="x", dimensions=4)


def test_errors_raise_the_matching_sdk_exceptions(client: OpenAI, gw: RunningGateway,
                                                  fake_hf: FakeHuggingFace) -> None:
    messages: Any = [{"role": "user", "content": "hi"}]
    fake_hf.enqueue(hf_error(401, "Invalid credentials in Authorization header"))
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model=MODEL, messages=messages)
    fake_hf.enqueue(hf_error(429, "Rate limit reached", {"retry-after": "4"}))
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model=MODEL, messages=messages)
    assert limited.value.response.headers["retry-after"] == "4"
    fake_hf.enqueue(hf_error(500, "Internal Error"))
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model=MODEL, messages=messages)
    assert failed.value.status_code == 502
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=messages, n=2)
    statuses = sorted(r["http_status"] for r in gw.records(provider="huggingface"))
    assert statuses[:4] == [400, 401, 429, 502]


def test_verify_endpoint(gw: RunningGateway, fake_hf: FakeHuggingFace) -> None:
    good = gw.http.post("/v1/credentials/verify", json={"provider": "huggingface"})
    assert good.status_code == 200 and good.json()["valid"] is True
    bad = gw.http.post("/v1/credentials/verify", json={"provider": "huggingface", "credential": {
        "key": "hf_bad", "base_url": fake_hf.url}})
    assert bad.status_code == 200 and bad.json()["valid"] is False
