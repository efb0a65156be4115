"""End to end: the official ``openai`` SDK -> the running gateway -> the fake Gemini API."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest
from openai import OpenAI
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionToolMessageParam,
)

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.gemini_fake import (
    VALID_KEY,
    FakeGemini,
    bad_key_error,
    candidate,
    function_call,
    google_error,
    response,
    stream_answer,
    usage,
)
from tests.fakes.server import sse
from tests.openapi import assert_valid

MODEL = "gemini/gemini-2.5-flash"
MESSAGES: list[Any] = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]
WEATHER_TOOL: Any = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                   "additionalProperties": False}}}
RETRY_INFO = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_gemini: FakeGemini) -> RunningGateway:
    return gateway_factory(env={"GEMINI_API_KEY": VALID_KEY, "GEMINI_BASE_URL": fake_gemini.url})


def client(gw: RunningGateway) -> OpenAI:
    return OpenAI(base_url=gw.url + "/v1", api_key="anything", max_retries=0)


def record(gw: RunningGateway, request_id: str) -> dict[str, Any]:
    found = [r for r in gw.records() if r["request_id"] == request_id]
    assert len(found) == 1
    return found[0]


def test_chat_completion_and_its_record(gw: RunningGateway, fake_gemini: FakeGemini) -> None:
    completion = client(gw).chat.completions.create(
        model=MODEL, messages=MESSAGES, max_tokens=64, stop="END", temperature=0.5,
        extra_headers={"x-request-id": "g-chat"})
    sent = fake_gemini.last
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == VALID_KEY
    assert sent.body == {"contents": [{"role": "user", "parts": [{"text": "hello there"}]}],
                         "systemInstruction": {"parts": [{"text": "be brief"}]},
                         "generationConfig": {"temperature": 0.5, "maxOutputTokens": 64, "stopSequences": ["END"]}}
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        9, 5, 14)
    rec = record(gw, "g-chat")
    assert (rec["provider"], rec["status"], rec["http_status"]) == ("gemini", "SUCCESS", 200)
    assert (rec["input_tokens"], rec["output_tokens"], rec["total_tokens"]) == (9, 5, 14)


def test_stream_chunks_are_valid_and_carry_usage(gw: RunningGateway, fake_gemini: FakeGemini) -> None:
    stream = client(gw).chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                                stream_options={"include_usage": True},
                                                extra_headers={"x-request-id": "g-stream"})
    chunks = list(stream)
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
    assert fake_gemini.last.query == {"alt": "sse"}
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hello there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    final = chunks[-1].usage
    assert final is not None and (final.prompt_tokens, final.completion_tokens) == (9, 3)
    rec = record(gw, "g-stream")
    assert (rec["status"], rec["input_tokens"], rec["output_tokens"]) == ("SUCCESS", 9, 3)


def test_tool_calls_non_stream_and_the_follow_up_turn(gw: RunningGateway, fake_gemini: FakeGemini) -> None:
    sdk = client(gw)
    completion = sdk.chat.completions.create(
        model=MODEL, messages=MESSAGES, tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    sent = fake_gemini.last.body
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    assert sent["tools"][0]["functionDeclarations"][0]["parameters"] == {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert (call.id, call.function.name, orjson.loads(call.function.arguments)) == (
        "call_0", "get_weather", {"city": "Paris"})
    follow_up = [*MESSAGES, choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 18}'}]
    sdk.chat.completions.create(model=MODEL, messages=follow_up, tools=[WEATHER_TOOL])
    turns = fake_gemini.last.body["contents"]
    assert turns[1] == {"role": "model", "parts": [{"functionCall": {"name": "get_weather",
                                                                     "args": {"city": "Paris"}}}]}
    assert turns[2] == {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                                        "response": {"temp_c": 18}}}]}


def test_tool_calls_stream_with_a_thought_signature_round_trip(gw: RunningGateway, fake_gemini: FakeGemini) -> None:
    frames = sse([
        response(candidate([function_call("get_weather", {"city": "Paris"}, "c2lnLWE="),
                            function_call("get_weather", {"city": "Rome"})], None), usage_metadata=usage(9, 4)),
        response(candidate([], "STOP"), usage_metadata=usage(9, 8)),
    ])
    fake_gemini.enqueue(stream_answer(frames))
    chunks = list(client(gw).chat.completions.create(model=MODEL, messages=MESSAGES, tools=[WEATHER_TOOL],
                                                     stream=True))
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += delta.id or ""
            entry["name"] += (delta.function.name or "") if delta.function else ""
            entry["arguments"] += (delta.function.arguments or "") if delta.function else ""
    assert calls == {0: {"id": "call_0__thought__c2lnLWE=", "name": "get_weather", "arguments": '{"city":"Paris"}'},
                     1: {"id": "call_1", "name": "get_weather", "arguments": '{"city":"Rome"}'}}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    assistant: ChatCompletionAssistantMessageParam = {"role": "assistant", "content": None, "tool_calls": [
        {"id": v["id"], "type": "function", "function": {"name": v["name"], "arguments": v["arguments"]}}
        for _, v in sorted(calls.items())]}
    results: list[ChatCompletionToolMessageParam] = [{"role": "tool", "tool_call_id": v["id"], "content": "sunny"}
                                                     for _, v in sorted(calls.items())]
    client(gw).chat.completions.create(model=MODEL, messages=[*MESSAGES, assistant, *results], tools=[WEATHER_TOOL])
    turns = fake_gemini.last.body["contents"]
    assert turns[1]["parts"][0]["thoughtSignature"] == "c2lnLWE=" and "thoughtSignature" not in turns[1]["parts"][1]
    assert [p["functionResponse"]["response"] for p in turns[2]["parts"]] == [{"result": "sunny"}] * 2


def test_upstream_errors_raise_the_matching_sdk_exceptions(gw: RunningGateway, fake_gemini: FakeGemini) -> None:
    sdk = client(gw)
    fake_gemini.enqueue(bad_key_error())
    with pytest.raises(openai.AuthenticationError, match="API key not valid"):
        sdk.chat.completions.create(model=MODEL, messages=MESSAGES)
    fake_gemini.enqueue(google_error(429, "Resource has been exhausted.", "RESOURCE_EXHAUSTED", [RETRY_INFO]))
    with pytest.raises(openai.RateLimitError) as limited:
        sdk.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers={"x-request-id": "g-429"})
    assert limited.value.response.headers["retry-after"] == "12"
    assert limited.value.code == "RESOURCE_EXHAUSTED"
    fake_gemini.enqueue(google_error(500, "An internal error has occurred.", "INTERNAL"))
    with pytest.raises(openai.InternalServerError) as failed:
        sdk.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert failed.value.status_code == 502
    rec = record(gw, "g-429")
    assert (rec["provider"], rec["status"], rec["http_status"]) == ("gemini", "FAILED", 429)


def test_unsupported_parameters_are_refused_before_the_upstream(gw: RunningGateway,
                                                                fake_gemini: FakeGemini) -> None:
    with pytest.raises(openai.BadRequestError, match="logprobs"):
        client(gw).chat.completions.create(model=MODEL, messages=MESSAGES, logprobs=True)
    with pytest.raises(openai.BadRequestError, match="image URLs"):
        client(gw).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}])
    assert fake_gemini.requests == []


def test_an_error_event_mid_stream_reaches_the_client_in_band(gw: RunningGateway, fake_gemini: FakeGemini) -> None:
    frames = sse([response(candidate([{"text": "par"}], None)),
                  {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}])
    fake_gemini.enqueue(stream_answer(frames))
    payloads: list[Any] = []
    with gw.http.stream("POST", "/v1/chat/completions", json={"model": MODEL, "messages": MESSAGES, "stream": True},
                        headers={"x-request-id": "g-midstream"}) as answer:
        assert answer.status_code == 200
        for line in answer.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                payloads.append(orjson.loads(line[6:]))
    assert "".join(p["choices"][0]["delta"].get("content") or "" for p in payloads if p.get("choices")) == "par"
    assert not any(p["choices"][0].get("finish_reason") for p in payloads if p.get("choices"))
    assert payloads[-1]["error"]["message"] == "gemini: Internal error encountered."
    assert record(gw, "g-midstream")["status"] == "FAILED"


def test_reasoning_effort_and_json_schema_reach_the_wire(gw: RunningGateway, fake_gemini: FakeGemini) -> None:
    schema = {"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"],
              "additionalProperties": False}
    completion = client(gw).chat.completions.create(
        model=MODEL, messages=MESSAGES, reasoning_effort="low",
        response_format={"type": "json_schema", "json_schema": {"name": "echo", "schema": schema}})
    config = fake_gemini.last.body["generationConfig"]
    assert config == {"thinkingConfig": {"thinkingBudget": 1024}, "responseMimeType": "application/json",
                      "responseSchema": {"type": "object", "properties": {"echo": {"type": "string"}},
                                         "required": ["echo"]}}
    assert orjson.loads(completion.choices[0].message.content or "") == {"echo": "hello there"}


def test_embeddings_and_verify_through_the_gateway(gw: RunningGateway, fake_gemini: FakeGemini) -> None:
    embedded = client(gw).embeddings.create(model="gemini/gemini-embedding-001", input=["a", "b"], dimensions=4)
    assert [len(e.embedding) for e in embedded.data] == [4, 4]
    assert fake_gemini.last.body["requests"][0]["outputDimensionality"] == 4
    good = gw.http.post("/v1/credentials/verify", json={"provider": "gemini"}).json()
    bad = gw.http.post("/v1/credentials/verify", json={"provider": "gemini", "credential": {
        "key": "AIza-wrong", "base_url": fake_gemini.url}}).json()
    assert (good["valid"], bad["valid"]) == (True, False)
