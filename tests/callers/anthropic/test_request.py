"""Pure translation tests: neutral request -> Anthropic Messages body."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.callers.anthropic.request import DEFAULT_MAX_TOKENS, to_anthropic_chat
from gateway.callers.base import ChatCompletionOptions, RequestContext
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
from gateway.errors import InvalidRequestError, UnsupportedParameterError

WEATHER = ToolDefinition("get_weather", "Weather now", {"type": "object", "properties": {"city": {"type": "string"}}})
HI: list[Message] = [UserMessage((TextPart("hi"),))]


def body(params: dict[str, Any] | None = None, messages: list[Message] | None = None,
         tools: tuple[ToolDefinition, ...] = (), stream: bool = False) -> dict[str, Any]:
    options = ChatCompletionOptions(RequestContext("r"), ModelParameters({"model.name": "claude-x", **(params or {})}),
                                    tool_definitions=tools)
    return to_anthropic_chat(messages or HI, options, "anthropic", stream=stream)


def test_minimal_body_defaults_max_tokens() -> None:
    assert body() == {"model": "claude-x", "max_tokens": DEFAULT_MAX_TOKENS,
                      "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}
    assert body(stream=True)["stream"] is True


def test_system_and_developer_messages_become_system_blocks_in_order() -> None:
    history: list[Message] = [SystemMessage("be brief"), UserMessage((TextPart("hi"),)),
                              SystemMessage("dev rule", "developer")]
    sent = body(messages=history)
    assert sent["system"] == [{"type": "text", "text": "be brief"}, {"type": "text", "text": "dev rule"}]
    assert [m["role"] for m in sent["messages"]] == ["user"]
    with pytest.raises(InvalidRequestError):
        body(messages=[SystemMessage("only instructions")])


def test_image_parts_use_base64_and_url_sources() -> None:
    user = UserMessage((TextPart("look"), ImagePart("data:image/png;base64,iVBORw0KGgo="),
                        ImagePart("https://example.com/cat.jpg", "high")))
    content = body(messages=[user])["messages"][0]["content"]
    assert content == [
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


@pytest.mark.parametrize("url", ["data:image/png,rawbytes", "ftp://example.com/x.png"])
def test_unusable_image_urls_are_a_400(url: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        body(messages=[UserMessage((ImagePart(url),))])
    assert caught.value.param == "messages[0].content[0].image_url.url"


def test_tool_round_trip_translation_merges_results_into_one_user_turn() -> None:
    history: list[Message] = [
        UserMessage((TextPart("weather in Paris and Rome?"),)),
        AssistantMessage("Checking.", (ToolCall("toolu_a", "get_weather", '{"city": "Paris"}'),
                                       ToolCall("toolu_b", "get_weather", ""))),
        ToolMessage("toolu_a", "18C"),
        ToolMessage("toolu_b", "21C"),
        UserMessage((TextPart("thanks"),)),
    ]
    sent = body(messages=history, tools=(WEATHER,))
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "weather in Paris and Rome?"}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_b", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "21C"},
            {"type": "text", "text": "thanks"}]},
    ]
    assert sent["tools"] == [{"name": "get_weather", "description": "Weather now",
                              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    assert "tool_choice" not in sent


def test_consecutive_same_role_messages_are_merged() -> None:
    sent = body(messages=[UserMessage((TextPart("a"),)), UserMessage((TextPart("b"),)),
                 AssistantMessage("x"), AssistantMessage("y")])
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]},
    ]


@pytest.mark.parametrize("arguments", ['{"city": ', "[1, 2]", "not json"])
def test_tool_call_arguments_that_are_not_a_json_object_are_a_400_naming_the_message(arguments: str) -> None:
    history: list[Message] = [UserMessage((TextPart("q"),)),
                              AssistantMessage(None, (ToolCall("toolu_x", "get_weather", arguments),))]
    with pytest.raises(InvalidRequestError, match=r"messages\[1\].*toolu_x") as caught:
        body(messages=history, tools=(WEATHER,))
    assert caught.value.param == "messages[1].tool_calls"


@pytest.mark.parametrize(("choice", "parallel", "expected"), [
    ("auto", None, {"type": "auto"}),
    ("none", None, {"type": "none"}),
    ("required", None, {"type": "any"}),
    ({"type": "function", "function": {"name": "get_weather"}}, None, {"type": "tool", "name": "get_weather"}),
    ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
    (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    ('{"type": "function", "function": {"name": "get_weather"}}', None, {"type": "tool", "name": "get_weather"}),
])
def test_tool_choice_mapping(choice: Any, parallel: bool | None, expected: dict[str, Any]) -> None:
    params: dict[str, Any] = {"model.tool_choice": choice, "model.parallel_tool_calls": parallel}
    assert body(params, tools=(WEATHER,))["tool_choice"] == expected


def test_tool_choice_required_without_tools_is_a_400() -> None:
    with pytest.raises(InvalidRequestError):
        body({"model.tool_choice": "required"})
    assert "tool_choice" not in body({"model.tool_choice": "none"})


def test_sampling_stop_and_user_parameters() -> None:
    sent = body({"model.max_completion_tokens": 99, "model.temperature": "0.3", "model.top_p": 0.9,
                   "model.top_k": 40, "model.stop": ["END", "STOP"], "model.user": "u-1", "model.n": 1})
    assert {k: sent[k] for k in ("max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "metadata")} == {
        "max_tokens": 99, "temperature": 0.3, "top_p": 0.9, "top_k": 40, "stop_sequences": ["END", "STOP"],
        "metadata": {"user_id": "u-1"}}
    assert body({"model.stop_sequences": "A,B"})["stop_sequences"] == ["A", "B"]
    assert body({"model.metadata": {"user_id": "seed"}})["metadata"] == {"user_id": "seed"}


@pytest.mark.parametrize("params", [{"model.n": 2}, {"model.metadata": {"team": "x"}},
                                    {"model.response_format": {"type": "json_object"}}])
def test_what_anthropic_cannot_do_is_an_unsupported_parameter(params: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedParameterError) as caught:
        body(params)
    assert caught.value.param == next(iter(params)).removeprefix("model.")


def test_json_schema_uses_native_structured_outputs() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
              "additionalProperties": False}
    sent = body({"model.response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}})
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "output_config" not in body({"model.response_format": {"type": "text"}})


@pytest.mark.parametrize(("thinking", "expected"), [
    ({"type": "enabled", "budget_tokens": 2000}, {"type": "enabled", "budget_tokens": 2000}),
    ('{"enabled": true, "budget_tokens": 3000}', {"type": "enabled", "budget_tokens": 3000}),
    ({"type": "disabled"}, {"type": "disabled"}),
    ({"enabled": False}, {"type": "disabled"}),
    ({"type": "adaptive"}, {"type": "adaptive"}),
])
def test_thinking_forms(thinking: Any, expected: dict[str, Any]) -> None:
    sent = body({"model.thinking": thinking})
    assert sent["thinking"] == expected
    assert sent["max_tokens"] == expected.get("budget_tokens", 0) + DEFAULT_MAX_TOKENS


@pytest.mark.parametrize(("effort", "budget"), [("minimal", 1024), ("low", 2048), ("medium", 8192),
                                                ("high", 16384), ("xhigh", 32768)])
def test_reasoning_effort_maps_to_a_thinking_budget(effort: str, budget: int) -> None:
    sent = body({"model.reasoning_effort": effort})
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert sent["max_tokens"] == budget + DEFAULT_MAX_TOKENS


def test_reasoning_effort_budget_fits_an_explicit_limit_and_none_disables() -> None:
    sent = body({"model.reasoning_effort": "high", "model.max_completion_tokens": 5000})
    assert (sent["max_tokens"], sent["thinking"]["budget_tokens"]) == (5000, 4999)
    assert "thinking" not in body({"model.reasoning_effort": "none"})
    with pytest.raises(InvalidRequestError) as caught:
        body({"model.reasoning_effort": "low", "model.max_completion_tokens": 500})
    assert caught.value.param == "max_completion_tokens"
    with pytest.raises(InvalidRequestError):
        body({"model.thinking": {"type": "enabled", "budget_tokens": 8000}, "model.max_completion_tokens": 8000})
    with pytest.raises(InvalidRequestError):
        body({"model.thinking": {"type": "enabled"}})
