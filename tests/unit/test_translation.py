"""OpenAI body -> neutral form -> OpenAI upstream body, against golden JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.api.translate import to_chat_call
from gateway.callers.base import ChatCompletionOptions, RequestContext
from gateway.callers.openai.request import to_openai_chat
from gateway.callers.openai.wire import OPENAI_QUIRKS, Quirks
from gateway.core.messages import AssistantMessage, ImagePart, SystemMessage, TextPart, ToolMessage, UserMessage
from gateway.core.params import ModelParameters
from gateway.errors import InvalidRequestError
from gateway.schemas.openai import ChatCompletionRequest

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / name).read_text())
    return data


def translate(body: dict[str, Any]) -> Any:
    return to_chat_call(ChatCompletionRequest.model_validate(body))


def test_openai_body_to_neutral_and_back_matches_golden() -> None:
    case = golden("chat_request.json")
    call = translate(case["openai_body"])
    assert call.parameters == case["model_parameters"]
    assert call.messages == (
        SystemMessage("Be brief."),
        SystemMessage("Answer in French.", "developer"),
        UserMessage((TextPart("What is in this image?"), ImagePart("data:image/png;base64,iVBORw0KGgo=", "low"))),
        AssistantMessage(None, call.messages[3].tool_calls),
        ToolMessage("call_1", "18C and sunny"),
        UserMessage((TextPart("Thanks"),)),
    )
    params = ModelParameters(call.parameters).merged({"model.name": "gpt-4o-mini"})
    options = ChatCompletionOptions(RequestContext("req_1"), params, tool_definitions=call.tools)
    assert to_openai_chat(call.messages, options, OPENAI_QUIRKS, stream=True) == case["upstream_body"]


def test_max_completion_tokens_wins_over_max_tokens_and_developer_role_can_fold() -> None:
    call = translate({"model": "m", "messages": [{"role": "developer", "content": "d"}],
                      "max_tokens": 10, "max_completion_tokens": 20})
    assert call.parameters["model.max_completion_tokens"] == 20
    options = ChatCompletionOptions(RequestContext("r"), ModelParameters(call.parameters))
    body = to_openai_chat(call.messages, options, Quirks(developer_role=False, max_tokens_field="max_tokens"),
                          stream=False)
    assert body["messages"] == [{"role": "system", "content": "d"}]
    assert body["max_tokens"] == 20 and "max_completion_tokens" not in body and "stream" not in body


def test_unmodelled_top_level_fields_are_kept_unchanged_for_the_service() -> None:
    extra = {"functions": [], "audio": {"voice": "alloy"}, "made_up_field": 1, "prompt_cache_key": "k"}
    full = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **extra}
    assert to_chat_call(ChatCompletionRequest.model_validate(full)).extra == extra


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
         "messages[0].content[0].type"),
        ({"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
         "messages[0].content[0].type"),
        ({"messages": [{"role": "assistant"}]}, "messages[0].content"),
        ({"tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}]},
         "tools[0].function.parameters"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "response_format.json_schema"),
    ],
)
def test_fields_that_cannot_be_honoured_are_refused_by_name(body: dict[str, Any], param: str) -> None:
    full = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **body}
    with pytest.raises(InvalidRequestError) as caught:
        translate(full)
    assert caught.value.param == param
    assert caught.value.status == 400


def test_seed_value_forms_are_accepted() -> None:
    params = ModelParameters({
        "model.temperature": "0.7", "model.seed": "42", "model.stop_sequences": "END,STOP",
        "model.response_format": '{"type": "json_object"}', "model.max_tokens": "100", "model.logprobs": "true",
    })
    assert params.get_float("model.temperature") == 0.7
    assert params.get_int("model.seed") == 42
    assert params.get_str_list("model.stop") == ["END", "STOP"]
    assert params.get_object("model.response_format") == {"type": "json_object"}
    assert params.get_int("model.max_completion_tokens") == 100
    assert params.get_bool("model.logprobs") is True


@pytest.mark.parametrize(("key", "value", "getter"), [
    ("model.temperature", "warm", "get_float"),
    ("model.seed", "4.5", "get_int"),
    ("model.logprobs", "maybe", "get_bool"),
    ("model.response_format", "{not json", "get_object"),
])
def test_bad_seed_values_name_the_field(key: str, value: str, getter: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        getattr(ModelParameters({key: value}), getter)(key)
    assert caught.value.param == key.removeprefix("model.")
