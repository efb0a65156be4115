"""End to end: the official ``openai`` SDK and plain HTTP against the running gateway, Cohere behind it."""

from __future__ import annotations

import base64
import struct
from typing import Any

import openai
import orjson
import pytest
from openai import OpenAI

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.cohere_fake import VALID_KEY, FakeCohere, cohere_error, fake_vector, message_end, stream, text_events
from tests.openapi import assert_valid

TOOLS: list[Any] = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather by city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
MODEL = "cohere/command-a-03-2025"


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_cohere: FakeCohere) -> RunningGateway:
    return gateway_factory(env={"COHERE_API_KEY": VALID_KEY, "COHERE_BASE_URL": fake_cohere.url})


@pytest.fixture
def client(gw: RunningGateway) -> OpenAI:
    return OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0, timeout=20)


def last_record(gw: RunningGateway, endpoint: str) -> dict[str, Any]:
    rows = [r for r in gw.records() if r["endpoint"] == endpoint]
    assert rows, f"no {endpoint} record"
    return rows[0]


def test_chat(client: OpenAI, gw: RunningGateway, fake_cohere: FakeCohere) -> None:
    completion = client.chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}],
        max_tokens=30, temperature=0.1, stop=["END"])
    assert completion.choices[0].message.content == "echo: hello"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (21, 4)
    sent = fake_cohere.last.body
    assert (sent["model"], sent["max_tokens"], sent["temperature"], sent["stop_sequences"]) == (
        "command-a-03-2025", 30, 0.1, ["END"])
    record = last_record(gw, "chat.completions")
    assert (record["provider"], record["status"], record["http_status"]) == ("cohere", "SUCCESS", 200)
    assert (record["input_tokens"], record["output_tokens"], record["total_tokens"]) == (21, 4, 25)


def test_stream_chunks_are_valid_openai_chunks(client: OpenAI, gw: RunningGateway) -> None:
    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "a b c"}],
                                                 stream=True, stream_options={"include_usage": True}))
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: a b c"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    usage = chunks[-1].usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (21, 4)
    record = last_record(gw, "chat.completions")
    assert (record["status"], record["stream"], record["input_tokens"], record["output_tokens"]) == (
        "SUCCESS", True, 21, 4)


def test_tool_calls_non_stream(client: OpenAI, fake_cohere: FakeCohere) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "weather?"}],
                                                tools=TOOLS, tool_choice="required")
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert (call.id, call.function.name, call.function.arguments) == ("call_co_1", "get_weather",  # type: ignore[union-attr]
                                                                      '{"city": "Paris"}')
    assert fake_cohere.last.body["tool_choice"] == "REQUIRED"


def test_tool_calls_stream_and_the_follow_up_turn(client: OpenAI, fake_cohere: FakeCohere) -> None:
    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "weather?"}],
                                                 tools=TOOLS, tool_choice="required", stream=True))
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert [(tc.index, tc.id, tc.function.name, tc.function.arguments) for tc in calls] == [  # type: ignore[union-attr]
        (0, "call_co_1", "get_weather", '{"city": "Paris"}')]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    client.chat.completions.create(model=MODEL, messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_co_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"P"}'}}]},
        {"role": "tool", "tool_call_id": "call_co_1", "content": "21C"}], tools=TOOLS)
    assert fake_cohere.last.body["messages"][1:] == [
        {"role": "assistant", "tool_calls": [
            {"id": "call_co_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"P"}'}}]},
        {"role": "tool", "tool_call_id": "call_co_1", "content": "21C"}]


def test_named_tool_choice_is_a_400_naming_tool_choice(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], tools=TOOLS,
                                       tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert caught.value.body["param"] == "tool_choice"  # type: ignore[index]


def test_errors_map_to_openai_exceptions(client: OpenAI, gw: RunningGateway, fake_cohere: FakeCohere) -> None:
    messages: list[Any] = [{"role": "user", "content": "x"}]
    fake_cohere.enqueue(cohere_error(429, "You are past the per minute request limit", {"retry-after": "11"}))
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model=MODEL, messages=messages)
    assert limited.value.response.headers["retry-after"] == "11"
    assert "per minute request limit" in limited.value.message
    fake_cohere.enqueue(cohere_error(500, "internal error"))
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model=MODEL, messages=messages)
    assert failed.value.status_code == 502
    fake_cohere.enqueue(cohere_error(401, "invalid api token"))
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model=MODEL, messages=messages, stream=True)
    failures = [r for r in gw.records() if r["status"] == "FAILED"]
    assert sorted(r["http_status"] for r in failures) == [401, 429, 502]


def test_error_inside_a_stream_becomes_an_error_event(gw: RunningGateway, fake_cohere: FakeCohere) -> None:
    fake_cohere.enqueue(stream([*text_events(["partial"], end=False), message_end("ERROR", error="model crashed")]))
    with gw.http.stream("POST", "/v1/chat/completions", json={
            "model": MODEL, "stream": True, "messages": [{"role": "user", "content": "x"}]}) as response:
        frames = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    payloads = [orjson.loads(f) for f in frames if f != "[DONE]"]
    assert payloads[0]["choices"][0]["delta"]["content"] == "partial"
    assert "model crashed" in payloads[-1]["error"]["message"]
    assert last_record(gw, "chat.completions")["status"] == "FAILED"


def test_embeddings_base64_and_float(client: OpenAI, gw: RunningGateway, fake_cohere: FakeCohere) -> None:
    default = client.embeddings.create(model="cohere/embed-v4.0", input=["alpha", "beta gamma"], dimensions=6)
    assert fake_cohere.last.body == {"model": "embed-v4.0", "texts": ["alpha", "beta gamma"],
                                     "input_type": "search_document", "embedding_types": ["float"],
                                     "output_dimension": 6}
    expected = [pytest.approx(fake_vector(t, 6), abs=1e-6) for t in ("alpha", "beta gamma")]
    assert [d.embedding for d in default.data] == expected
    assert (default.usage.prompt_tokens, default.usage.total_tokens) == (3, 3)
    floats = client.embeddings.create(model="cohere/embed-v4.0", input="alpha", encoding_format="float",
                                      dimensions=6)
    assert floats.data[0].embedding == expected[0]
    raw = gw.http.post("/v1/embeddings", json={"model": "cohere/embed-v4.0", "input": "alpha",
                                               "encoding_format": "base64", "dimensions": 6}).json()
    decoded = struct.unpack("<6f", base64.b64decode(raw["data"][0]["embedding"]))
    assert list(decoded) == expected[0]
    record = last_record(gw, "embeddings")
    assert (record["provider"], record["status"], record["input_tokens"]) == ("cohere", "SUCCESS", 1)


def test_rerank(gw: RunningGateway, fake_cohere: FakeCohere) -> None:
    documents = ["bananas are yellow", "paris is the capital of france", "the capital city", "cats"]
    response = gw.http.post("/v1/rerank", json={"model": "cohere/rerank-v3.5", "query": "capital of france",
                                                "documents": documents, "top_n": 2, "return_documents": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "cohere/rerank-v3.5" and body["id"]
    assert [(r["index"], r["document"]["text"]) for r in body["results"]] == [(1, documents[1]), (2, documents[2])]
    scores = [r["relevance_score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert "usage" in body
    assert fake_cohere.last.body == {"model": "rerank-v3.5", "query": "capital of france", "documents": documents,
                                     "top_n": 2}
    record = last_record(gw, "rerank")
    assert (record["provider"], record["status"], record["http_status"]) == ("cohere", "SUCCESS", 200)


def test_verify_through_the_gateway(gw: RunningGateway, fake_cohere: FakeCohere) -> None:
    good = gw.http.post("/v1/credentials/verify", json={"provider": "cohere"}).json()
    assert good["valid"] is True
    bad = gw.http.post("/v1/credentials/verify", json={
        "provider": "cohere", "credential": {"key": "wrong", "base_url": fake_cohere.url}}).json()
    assert bad["valid"] is False and "invalid api token" in bad["message"]
    assert (fake_cohere.last.path, fake_cohere.last.headers["authorization"]) == ("/v1/models", "Bearer wrong")
