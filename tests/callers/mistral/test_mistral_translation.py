"""Pure translation tests: neutral request -> Mistral body, Mistral answers -> neutral results."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gateway.callers.base import ChatCompletionOptions, RequestContext
from gateway.callers.mistral.request import mistral_tool_call_id, to_mistral_chat
from gateway.callers.mistral.response import from_mistral_chat
from gateway.callers.mistral.stream import MistralStreamAccumulator
from gateway.callers.mistral.wire import DEFAULT_BASE_URL, MistralWire, error_in_body, parse_mistral_error
from gateway.core.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolDefinition,
    ToolMessage,
    UserMessage,
)
from gateway.core.params import ModelParameters
from gateway.core.results import ReasoningDelta, StreamEvent, TextDelta, ToolCallEvent
from gateway.errors import InvalidRequestError, RateLimitError, UnsupportedParameterError, UpstreamError

WEATHER = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})


def dotted(values: dict[str, Any]) -> dict[str, Any]:
    """Dotted parameter names to pass as ``**kwargs``; typed ``Any`` so mypy does not check them against the
    helpers' named arguments."""
    return values


def options(tools: tuple[ToolDefinition, ...] = (), **params: Any) -> ChatCompletionOptions:
    return ChatCompletionOptions(RequestContext("r"), ModelParameters({"model.name": "mistral-small-latest", **params}),
                                 tool_definitions=tools)


def test_full_conversation_translation() -> None:
    messages: list[Message] = [
        SystemMessage("Be brief.", role="developer"),
        UserMessage((TextPart("What is this?"), ImagePart("data:image/png;base64,iVBO"),
                     ImagePart("https://x.test/a.png", detail="high")), name="ann"),
        AssistantMessage(None, (ToolCall("call_abc123", "get_weather", '{"city":"Paris"}'),
                                ToolCall("aB3xK9mP2", "get_weather", '{"city":"Rome"}'))),
        ToolMessage("call_abc123", "18C"),
        ToolMessage("aB3xK9mP2", "21C"),
    ]
    body = to_mistral_chat(messages, options((WEATHER, ToolDefinition("noop"))), stream=False)
    mapped = mistral_tool_call_id("call_abc123")
    assert body == {
        "model": "mistral-small-latest",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": "data:image/png;base64,iVBO"},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "high"}}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": mapped, "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                {"id": "aB3xK9mP2", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'}}]},
            {"role": "tool", "tool_call_id": mapped, "content": "18C", "name": "get_weather"},
            {"role": "tool", "tool_call_id": "aB3xK9mP2", "content": "21C", "name": "get_weather"},
        ],
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                              "parameters": WEATHER.parameters}},
            {"type": "function", "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}}},
        ],
    }


def test_foreign_tool_call_ids_map_to_stable_valid_ids() -> None:
    mapped = {mistral_tool_call_id(i) for i in ("call_abc123", "toolu_01XYZ", "x")}
    assert all(re.fullmatch(r"[A-Za-z0-9]{9}", m) for m in mapped) and len(mapped) == 3
    assert mistral_tool_call_id("call_abc123") == mistral_tool_call_id("call_abc123")
    assert mistral_tool_call_id("aB3xK9mP2") == "aB3xK9mP2"


def test_parameters_use_mistral_names() -> None:
    body = to_mistral_chat([UserMessage((TextPart("hi"),))], options(**dotted({
        "model.temperature": "0.3", "model.top_p": 0.9, "model.max_completion_tokens": 64, "model.seed": 7,
        "model.stop": "END,STOP", "model.presence_penalty": 0.1, "model.frequency_penalty": 0.2, "model.n": 2,
        "model.parallel_tool_calls": False, "model.reasoning_effort": "high", "model.safe_prompt": "true",
        "model.prompt_mode": "reasoning", "model.tool_choice": "required",
        "model.response_format": {"type": "json_object"}})), stream=True)
    assert body == {
        "model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.3,
        "top_p": 0.9, "presence_penalty": 0.1, "frequency_penalty": 0.2, "n": 2, "random_seed": 7,
        "max_tokens": 64, "parallel_tool_calls": False, "safe_prompt": True, "reasoning_effort": "high",
        "prompt_mode": "reasoning", "stop": ["END", "STOP"], "tool_choice": "any",
        "response_format": {"type": "json_object"}, "stream": True,
    }
    assert "stream_options" not in body and "seed" not in body and "max_completion_tokens" not in body


@pytest.mark.parametrize(("choice", "expected"), [
    ("auto", "auto"), ("none", "none"), ("required", "any"),
    ({"type": "function", "function": {"name": "get_weather"}},
     {"type": "function", "function": {"name": "get_weather"}}),
])
def test_tool_choice(choice: Any, expected: Any) -> None:
    body = to_mistral_chat([UserMessage((TextPart("hi"),))],
                           options((WEATHER,), **dotted({"model.tool_choice": choice})), stream=False)
    assert body["tool_choice"] == expected


def test_json_schema_response_format_and_bad_values() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    body = to_mistral_chat([UserMessage((TextPart("hi"),))], options(**dotted({"model.response_format": {
        "type": "json_schema", "json_schema": {"name": "out", "schema": schema, "strict": True}}})), stream=False)
    assert body["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "out", "schema": schema, "strict": True}}
    with pytest.raises(UnsupportedParameterError):
        to_mistral_chat([], options(**dotted({"model.response_format": {"type": "grammar"}})), stream=False)
    with pytest.raises(InvalidRequestError):
        to_mistral_chat([], options(**dotted({"model.tool_choice": "sometimes"})), stream=False)


def test_base_url_with_or_without_v1() -> None:
    assert MistralWire(DEFAULT_BASE_URL, {}).url("chat/completions") == "https://api.mistral.ai/v1/chat/completions"
    assert MistralWire("http://h/v1/", {}).url("models") == "http://h/v1/models"


def test_response_with_thinking_chunks_and_object_arguments() -> None:
    result = from_mistral_chat({
        "id": "c1", "model": "magistral-medium", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "model_length", "message": {"role": "assistant", "content": [
            {"type": "thinking", "thinking": [{"type": "text", "text": "hmm "}, {"type": "text", "text": "ok"}]},
            {"type": "text", "text": "Answer"}],
            "tool_calls": [{"id": "aB3xK9mP2", "function": {"name": "f", "arguments": {"x": 1}}}]}}],
        "usage": {"prompt_tokens": 30, "completion_tokens": 4, "total_tokens": 34}}, "mistral")
    choice = result.choices[0]
    assert (choice.content, choice.reasoning, choice.finish_reason) == ("Answer", "hmm ok", "length")
    assert choice.tool_calls == (ToolCall("aB3xK9mP2", "f", '{"x":1}'),)
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total) == (30, 4, 34)
    assert (result.model, result.provider_request_id) == ("magistral-medium", "c1")


def test_finish_reason_error_is_not_success() -> None:
    with pytest.raises(UpstreamError):
        from_mistral_chat({"choices": [{"index": 0, "finish_reason": "error", "message": {"content": "x"}}]},
                          "mistral")


def _feed(acc: MistralStreamAccumulator, chunks: list[dict[str, Any]]) -> list[StreamEvent]:
    events = [e for c in chunks for e in acc.feed(c)]
    return events + list(acc.close())


def test_stream_tool_calls_all_at_index_zero_stay_apart() -> None:
    acc = MistralStreamAccumulator("mistral")
    calls = [{"id": "aaaaaaaa1", "index": 0, "function": {"name": "f", "arguments": '{"a": 1}'}},
             {"id": "bbbbbbbb2", "index": 0, "function": {"name": "g", "arguments": '{"b": 2}'}}]
    events = _feed(acc, [
        {"id": "s", "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": calls}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
         "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}},
    ])
    emitted = [(e.position, e.tool_call.id, e.tool_call.name, e.tool_call.arguments)
               for e in events if isinstance(e, ToolCallEvent)]
    assert emitted == [(0, "aaaaaaaa1", "f", '{"a": 1}'), (1, "bbbbbbbb2", "g", '{"b": 2}')]
    result = acc.result()
    assert result.choices[0].finish_reason == "tool_calls" and result.choices[0].content is None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (9, 3)


def test_stream_split_arguments_and_thinking_deltas() -> None:
    acc = MistralStreamAccumulator("mistral")
    events = _feed(acc, [
        {"choices": [{"index": 0, "delta": {"content": [{"type": "thinking",
                                                         "thinking": [{"type": "text", "text": "why"}]}]}}]},
        {"choices": [{"index": 0, "delta": {"content": "Hi"}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"id": "ccccccccc", "function": {
            "name": "f", "arguments": '{"a"'}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"function": {"arguments": ": 1}"}}]}}]},
    ])
    assert [type(e) for e in events] == [ReasoningDelta, TextDelta, ToolCallEvent]
    call = events[-1]
    assert isinstance(call, ToolCallEvent) and call.tool_call.arguments == '{"a": 1}'
    assert not acc.finished
    assert acc.result().choices[0].reasoning == "why"


def test_error_bodies() -> None:
    validation = parse_mistral_error({"object": "error", "message": {"detail": [
        {"type": "extra_forbidden", "loc": ["body", "messages", 0, "name"], "msg": "Extra inputs are not permitted"}]},
        "type": "invalid_request_error", "param": None, "code": None})
    assert validation is not None
    assert validation.message == "messages[0].name: Extra inputs are not permitted"
    assert (validation.code, validation.param) == ("invalid_request_error", "messages[0].name")
    bare = parse_mistral_error({"detail": [{"loc": ["body", "model"], "msg": "Field required", "type": "missing"}]})
    assert bare is not None and (bare.message, bare.code) == ("model: Field required", "validation_error")
    plain = parse_mistral_error({"object": "error", "message": "Tool call id was x", "type": "invalid_function_call",
                                 "param": None, "code": "3280"})
    assert plain is not None and (plain.message, plain.code) == ("Tool call id was x", "3280")
    assert parse_mistral_error({"message": "Unauthorized", "request_id": "r"}) == parse_mistral_error(
        {"message": "Unauthorized"})
    limited = error_in_body({"object": "error", "message": "Requests rate limit exceeded", "type": "rate_limited",
                             "raw_status_code": 429})
    assert isinstance(limited, RateLimitError)
    assert isinstance(error_in_body({"object": "error", "message": "boom"}), UpstreamError)
