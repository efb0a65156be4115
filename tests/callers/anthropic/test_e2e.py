"""End to end: the official ``openai`` SDK -> the running gateway -> the fake Anthropic API."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest
from openai import OpenAI

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.anthropic_fake import (
    MODEL,
    VALID_KEY,
    FakeAnthropic,
    anthropic_error,
    stream_frames,
    streamed,
    text_block_events,
    tool_block_events,
)
from tests.fakes.server import sse
from tests.openapi import assert_valid

GATEWAY_MODEL = f"anthropic/{MODEL}"
MESSAGES: list[Any] = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]
WEATHER_TOOL: Any = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_anthropic: FakeAnthropic) -> RunningGateway:
    return gateway_factory(env={"ANTHROPIC_API_KEY": VALID_KEY, "ANTHROPIC_BASE_URL": fake_anthropic.url})


def client(gw: RunningGateway) -> OpenAI:
    return OpenAI(base_url=gw.url + "/v1", api_key="anything", max_retries=0)


def record(gw: RunningGateway, request_id: str) -> dict[str, Any]:
    found = [r for r in gw.records() if r["request_id"] == request_id]
    assert len(found) == 1
    return found[0]


def test_chat_completion_and_its_record(gw: RunningGateway, fake_anthropic: FakeAnthropic) -> None:
    raw = gw.http.post("/v1/chat/completions", json={"model": GATEWAY_MODEL, "messages": MESSAGES, "max_tokens": 64,
                                                     "stop": "END"}, headers={"x-request-id": "a-chat"})
    assert raw.status_code == 200
    assert_valid("CreateChatCompletionResponse", raw.json())
    sent = fake_anthropic.last.body
    assert (sent["model"], sent["max_tokens"], sent["stop_sequences"]) == (MODEL, 64, ["END"])
    assert sent["system"] == [{"type": "text", "text": "be brief"}]
    completion = client(gw).chat.completions.create(model=GATEWAY_MODEL, messages=MESSAGES)
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        16, 7, 23)
    rec = record(gw, "a-chat")
    assert (rec["provider"], rec["status"], rec["http_status"]) == ("anthropic", "SUCCESS", 200)
    assert (rec["input_tokens"], rec["output_tokens"], rec["total_tokens"]) == (16, 7, 23)


def test_stream_chunks_are_valid_and_carry_usage(gw: RunningGateway, fake_anthropic: FakeAnthropic) -> None:
    stream = client(gw).chat.completions.create(model=GATEWAY_MODEL, messages=MESSAGES, stream=True,
                                                stream_options={"include_usage": True},
                                                extra_headers={"x-request-id": "a-stream"})
    chunks = list(stream)
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hello there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    usage = chunks[-1].usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (16, 3)
    assert fake_anthropic.last.body["stream"] is True
    rec = record(gw, "a-stream")
    assert (rec["status"], rec["input_tokens"], rec["output_tokens"]) == ("SUCCESS", 16, 3)


def test_tool_calls_non_stream(gw: RunningGateway, fake_anthropic: FakeAnthropic) -> None:
    completion = client(gw).chat.completions.create(
        model=GATEWAY_MODEL, messages=MESSAGES, tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}}, parallel_tool_calls=False)
    assert fake_anthropic.last.body["tool_choice"] == {"type": "tool", "name": "get_weather",
                                                       "disable_parallel_tool_use": True}
    assert fake_anthropic.last.body["tools"] == [{"name": "get_weather", "description": "Current weather",
                                                  "input_schema": WEATHER_TOOL["function"]["parameters"]}]
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert (call.id, call.function.name, orjson.loads(call.function.arguments)) == (
        "toolu_01", "get_weather", {"city": "Paris"})
    follow_up = [*MESSAGES, choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "18C"}]
    client(gw).chat.completions.create(model=GATEWAY_MODEL, messages=follow_up, tools=[WEATHER_TOOL])
    turns = fake_anthropic.last.body["messages"]
    assert turns[1]["content"] == [{"type": "tool_use", "id": "toolu_01", "name": "get_weather",
                                    "input": {"city": "Paris"}}]
    assert turns[2] == {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01",
                                                     "content": "18C"}]}


def test_tool_calls_stream(gw: RunningGateway, fake_anthropic: FakeAnthropic) -> None:
    blocks = [*tool_block_events(0, "toolu_a", "get_weather", ['{"city"', ': "Paris"}']),
              *tool_block_events(1, "toolu_b", "get_weather", ['{"city": "Rome"}'])]
    fake_anthropic.enqueue(streamed(stream_frames(blocks, "tool_use")))
    chunks = list(client(gw).chat.completions.create(model=GATEWAY_MODEL, messages=MESSAGES, tools=[WEATHER_TOOL],
                                                     stream=True))
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += delta.id or ""
            entry["name"] += (delta.function.name or "") if delta.function else ""
            entry["arguments"] += (delta.function.arguments or "") if delta.function else ""
    assert calls == {0: {"id": "toolu_a", "name": "get_weather", "arguments": '{"city": "Paris"}'},
                     1: {"id": "toolu_b", "name": "get_weather", "arguments": '{"city": "Rome"}'}}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]


def test_upstream_errors_raise_the_matching_sdk_exceptions(gw: RunningGateway,
                                                          fake_anthropic: FakeAnthropic) -> None:
    sdk = client(gw)
    fake_anthropic.enqueue(anthropic_error(401, "authentication_error", "invalid x-api-key"))
    with pytest.raises(openai.AuthenticationError, match="invalid x-api-key"):
        sdk.chat.completions.create(model=GATEWAY_MODEL, messages=MESSAGES)
    fake_anthropic.enqueue(anthropic_error(429, "rate_limit_error", "slow down", {"retry-after": "12"}))
    with pytest.raises(openai.RateLimitError) as limited:
        sdk.chat.completions.create(model=GATEWAY_MODEL, messages=MESSAGES, extra_headers={"x-request-id": "a-429"})
    assert limited.value.response.headers["retry-after"] == "12"
    assert limited.value.code == "rate_limit_error"
    fake_anthropic.enqueue(anthropic_error(500, "api_error", "Internal server error"))
    with pytest.raises(openai.InternalServerError) as failed:
        sdk.chat.completions.create(model=GATEWAY_MODEL, messages=MESSAGES)
    assert failed.value.status_code == 502
    rec = record(gw, "a-429")
    assert (rec["provider"], rec["status"], rec["http_status"]) == ("anthropic", "FAILED", 429)


def test_unsupported_parameters_are_refused_before_the_upstream(gw: RunningGateway,
                                                                fake_anthropic: FakeAnthropic) -> None:
    with pytest.raises(openai.BadRequestError, match="frequency_penalty"):
        client(gw).chat.completions.create(model=GATEWAY_MODEL, messages=MESSAGES, frequency_penalty=0.5)
    with pytest.raises(openai.BadRequestError, match="response_format"):
        client(gw).chat.completions.create(model=GATEWAY_MODEL, messages=MESSAGES,
                                           response_format={"type": "json_object"})
    assert fake_anthropic.requests == []


def test_an_error_event_mid_stream_reaches_the_client_in_band(gw: RunningGateway,
                                                             fake_anthropic: FakeAnthropic) -> None:
    frames = stream_frames(text_block_events(0, ["par"]), end=False) + sse(
        [("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})], named=True)
    fake_anthropic.enqueue(streamed(frames))
    payloads: list[Any] = []
    with gw.http.stream("POST", "/v1/chat/completions", json={"model": GATEWAY_MODEL, "messages": MESSAGES,
                                                              "stream": True},
                        headers={"x-request-id": "a-midstream"}) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                payloads.append(orjson.loads(line[6:]))
    assert "".join(p["choices"][0]["delta"].get("content") or "" for p in payloads if p.get("choices")) == "par"
    assert not any(p["choices"][0].get("finish_reason") for p in payloads if p.get("choices"))
    assert payloads[-1]["error"]["message"] == "anthropic: Overloaded"
    assert record(gw, "a-midstream")["status"] == "FAILED"


def test_reasoning_effort_and_json_schema_reach_the_wire(gw: RunningGateway, fake_anthropic: FakeAnthropic) -> None:
    schema = {"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"],
              "additionalProperties": False}
    completion = client(gw).chat.completions.create(
        model=GATEWAY_MODEL, messages=MESSAGES, reasoning_effort="low",
        response_format={"type": "json_schema", "json_schema": {"name": "echo", "schema": schema}})
    sent = fake_anthropic.last.body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert sent["max_tokens"] == 2048 + 4096
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert orjson.loads(completion.choices[0].message.content or "") == {"echo": "hello there"}
