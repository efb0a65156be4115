"""Pure translation tests: neutral request -> Gemini body, Gemini answer -> neutral result."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.callers.base import ChatCompletionOptions, RequestContext
from gateway.callers.gemini.errors import GoogleErrorParser
from gateway.callers.gemini.request import to_gemini_request
from gateway.callers.gemini.response import ResponseAccumulator, from_gemini
from gateway.callers.gemini.wire import Quirks
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
from gateway.core.results import ReasoningDelta, TextDelta, ToolCallEvent
from gateway.errors import AuthenticationError, InvalidRequestError, RateLimitError, UpstreamError
from tests.fakes.gemini_fake import candidate, function_call, response, usage

WEATHER = ToolDefinition("get_weather", "Weather for a city", {
    "type": "object", "additionalProperties": False, "$schema": "http://json-schema.org/draft-07/schema#",
    "properties": {"city": {"type": "string"}, "unit": {"type": ["string", "null"], "enum": ["C", "F"]}},
    "required": ["city"]})
NO_ARGS = ToolDefinition("now", None, {"type": "object", "properties": {}})


def dotted(values: dict[str, Any]) -> dict[str, Any]:
    """Dotted parameter names to pass as ``**kwargs``; typed ``Any`` so mypy does not check them against the
    helpers' named arguments."""
    return values


def build(messages: list[Message], tools: tuple[ToolDefinition, ...] = (), quirks: Quirks | None = None,
          **params: Any) -> dict[str, Any]:
    options = ChatCompletionOptions(RequestContext("r"), ModelParameters({"model.name": "gemini-2.5-flash", **params}),
                                    tool_definitions=tools)
    return to_gemini_request(messages, options, quirks or Quirks())


def user(text: str) -> UserMessage:
    return UserMessage((TextPart(text),))


def test_system_and_developer_messages_become_the_system_instruction_once() -> None:
    body = build([SystemMessage("Be brief."), user("hi"), SystemMessage("No emoji.", role="developer"),
                  user("again")])
    assert body == {
        "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "No emoji."}]},
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "user", "parts": [{"text": "again"}]}],
    }


def test_images_inline_data_and_file_uris_by_quirk() -> None:
    image = ImagePart("data:image/png;base64,iVBORw0KGgo=")
    body = build([UserMessage((TextPart("what is this?"), image))])
    assert body["contents"][0]["parts"] == [
        {"text": "what is this?"}, {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]
    gcs = build([UserMessage((ImagePart("gs://bucket/cat.jpg"),))], quirks=Quirks(file_uri_schemes=("gs://",)))
    assert gcs["contents"][0]["parts"] == [{"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://bucket/cat.jpg"}}]


def test_a_remote_image_url_is_a_400_naming_the_part() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        build([user("hi"), UserMessage((TextPart("look"), ImagePart("https://example.com/cat.png")))])
    assert caught.value.param == "messages[1].content[1].image_url"


def test_tool_round_trip_names_results_after_their_calls_and_shares_one_turn() -> None:
    calls = (ToolCall("call_0__thought__c2lnLTE=", "get_weather", '{"city": "Paris"}'),
             ToolCall("call_1", "now", ""))
    body = build([user("weather and time?"), AssistantMessage(content=None, tool_calls=calls),
                  ToolMessage("call_0__thought__c2lnLTE=", '{"temp": 21}'), ToolMessage("call_1", "12:00"),
                  user("thanks")], (WEATHER, NO_ARGS))
    assert body["contents"][1:] == [
        {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2lnLTE="},
            {"functionCall": {"name": "now", "args": {}}}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
            {"functionResponse": {"name": "now", "response": {"result": "12:00"}}}]},
        {"role": "user", "parts": [{"text": "thanks"}]},
    ]


def test_a_tool_result_for_an_unknown_call_is_a_400() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        build([user("hi"), ToolMessage("call_9", "x")])
    assert caught.value.param == "messages[1].tool_call_id"


def test_tools_are_sanitized_and_tool_choice_maps_to_function_calling_modes() -> None:
    body = build([user("hi")], (WEATHER, NO_ARGS), **dotted({"model.tool_choice": {
        "type": "function", "function": {"name": "get_weather"}}}))
    assert body["tools"] == [{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather for a city", "parameters": {
            "type": "object", "required": ["city"],
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "nullable": True,
                                                                "enum": ["C", "F"]}}}},
        {"name": "now"}]}]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    for choice, mode in (("auto", "AUTO"), ("none", "NONE"), ("required", "ANY")):
        got = build([user("hi")], (WEATHER,), **dotted({"model.tool_choice": choice}))
        assert got["toolConfig"] == {"functionCallingConfig": {"mode": mode}}


def test_generation_config_carries_every_sampling_parameter() -> None:
    body = build([user("hi")], **dotted({
        "model.temperature": "0.3", "model.top_p": 0.9, "model.top_k": 40, "model.max_completion_tokens": 256,
        "model.stop": ["END", "STOP"], "model.n": 2, "model.seed": 7, "model.presence_penalty": 0.1,
        "model.frequency_penalty": 0.2, "model.response_format": {"type": "json_object"}}))
    assert body["generationConfig"] == {
        "temperature": 0.3, "topP": 0.9, "topK": 40, "maxOutputTokens": 256, "stopSequences": ["END", "STOP"],
        "candidateCount": 2, "seed": 7, "presencePenalty": 0.1, "frequencyPenalty": 0.2,
        "responseMimeType": "application/json"}


def test_json_schema_response_format_sends_a_sanitized_response_schema() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": {
        "type": "object", "additionalProperties": False, "properties": {"n": {"type": "integer"}}}}}
    body = build([user("hi")], **dotted({"model.response_format": fmt}))
    assert body["generationConfig"] == {"responseMimeType": "application/json", "responseSchema": {
        "type": "object", "properties": {"n": {"type": "integer"}}}}


@pytest.mark.parametrize(("params", "expected"), [
    ({"model.reasoning_effort": "low"}, {"thinkingBudget": 1024}),
    ({"model.reasoning_effort": "medium"}, {"thinkingBudget": 8192}),
    ({"model.reasoning_effort": "high"}, {"thinkingBudget": 24576}),
    ({"model.reasoning_effort": "none"}, {"thinkingBudget": 0}),
    ({"model.thinking": '{"include_thoughts": true, "thinking_budget": 2048.0}'},
     {"includeThoughts": True, "thinkingBudget": 2048}),
    ({"model.reasoning_effort": "high", "model.thinking": {"thinking_budget": 512}}, {"thinkingBudget": 512}),
    ({"model.thinking": {"thinkingLevel": "low", "includeThoughts": "true"}},
     {"thinkingLevel": "LOW", "includeThoughts": True}),
    ({"model.thinking": {"type": "enabled", "budget_tokens": 3000}}, {"includeThoughts": True, "thinkingBudget": 3000}),
])
def test_thinking_config(params: dict[str, Any], expected: dict[str, Any]) -> None:
    assert build([user("hi")], **params)["generationConfig"]["thinkingConfig"] == expected


@pytest.mark.parametrize(("params", "param"), [
    ({"model.reasoning_effort": "extreme"}, "reasoning_effort"),
    ({"model.thinking": {"thinking_budget": 10, "thinking_level": "high"}}, "thinking"),
    ({"model.thinking": {"budget": 10}}, "thinking"),
    ({"model.thinking": {"thinking_budget": "lots"}}, "thinking.thinking_budget"),
    ({"model.tool_choice": "required"}, "tool_choice"),
])
def test_bad_settings_are_a_400(params: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        build([user("hi")], **params)
    assert caught.value.param == param


def test_an_answer_with_text_thoughts_and_calls() -> None:
    body = response(candidate([{"text": "Let me think.", "thought": True}, {"text": "Checking "},
                               {"text": "now."}, function_call("get_weather", {"city": "Paris"}, "c2ln"),
                               function_call("now", {})]),
                    usage_metadata=usage(prompt=20, candidates=10, thoughts=5, cached=4))
    result = from_gemini(body, "gemini")
    choice = result.choices[0]
    assert (choice.content, choice.reasoning, choice.finish_reason) == ("Checking now.", "Let me think.", "tool_calls")
    assert [(c.id, c.name, c.arguments) for c in choice.tool_calls] == [
        ("call_0__thought__c2ln", "get_weather", '{"city":"Paris"}'), ("call_1", "now", "{}")]
    usage_ = result.usage
    assert (usage_.input_tokens, usage_.output_tokens, usage_.total_tokens) == (20, 15, 35)
    assert (usage_.cached_input_tokens, usage_.reasoning_tokens) == (4, 5)
    assert (result.model, result.provider_request_id) == ("gemini-2.5-flash-001", "resp-1")


@pytest.mark.parametrize(("reason", "expected"), [
    ("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
    ("BLOCKLIST", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"), ("SPII", "content_filter"),
    ("OTHER", "stop"), ("MALFORMED_FUNCTION_CALL", "stop"),
])
def test_finish_reasons(reason: str, expected: str) -> None:
    assert from_gemini(response(candidate([{"text": "x"}], reason)), "gemini").choices[0].finish_reason == expected


def test_several_candidates_keep_their_indexes() -> None:
    result = from_gemini(response(candidate([{"text": "a"}]), candidate([{"text": "b"}], index=1)), "gemini")
    assert [(c.index, c.content) for c in result.choices] == [(0, "a"), (1, "b")]


def test_a_blocked_prompt_is_an_empty_content_filtered_choice() -> None:
    result = from_gemini({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3,
                                                                                         "totalTokenCount": 3}},
                         "gemini")
    assert [(c.content, c.finish_reason) for c in result.choices] == [("", "content_filter")]
    assert result.usage.input_tokens == 3


def test_an_answer_with_neither_candidates_nor_block_reason_is_malformed() -> None:
    with pytest.raises(UpstreamError, match="malformed"):
        from_gemini({"usageMetadata": {}}, "gemini")


def test_stream_chunks_yield_deltas_and_whole_calls_at_once() -> None:
    accumulator = ResponseAccumulator("gemini")
    events = list(accumulator.feed(response(candidate([{"text": "hm", "thought": True}, {"text": "Hel"}], None))))
    events += list(accumulator.feed(response(candidate([{"text": "lo"}, function_call("now", {})], None))))
    assert not accumulator.finished
    events += list(accumulator.feed(response(candidate([], "STOP"), usage_metadata=usage(9, 3))))
    assert accumulator.finished
    assert [type(e) for e in events] == [ReasoningDelta, TextDelta, TextDelta, ToolCallEvent]
    call = events[-1]
    assert isinstance(call, ToolCallEvent) and call.position == 0 and call.tool_call.id == "call_0"
    assert accumulator.result().choices[0].content == "Hello"
    assert accumulator.result().usage.output_tokens == 3


def test_error_parser_reads_retry_info_and_the_bad_key_reason() -> None:
    parser = GoogleErrorParser()
    info = parser({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "31s"}]}})
    assert info is not None and (info.message, info.code) == ("Quota exceeded", "RESOURCE_EXHAUSTED")
    refined = parser.refine(RateLimitError("gemini: Quota exceeded", provider="gemini"))
    assert refined.retry_after == 31
    bad_key = GoogleErrorParser()
    bad_key({"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT", "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}})
    assert isinstance(bad_key.refine(InvalidRequestError("x", provider="gemini")), AuthenticationError)
