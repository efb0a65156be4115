"""Pure translation: neutral messages -> prediction input, prediction -> result."""

from __future__ import annotations

import pytest

from gateway.callers.replicate.request import model_input, prediction_body, render_prompt
from gateway.callers.replicate.response import check_done, from_prediction, output_text, stream_error
from gateway.callers.replicate.wire import ModelRef, parse_model, parse_replicate_error
from gateway.core.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from gateway.core.params import ModelParameters
from gateway.errors import InvalidRequestError, UpstreamError


def user(text: str) -> UserMessage:
    return UserMessage((TextPart(text),))


def test_model_refs() -> None:
    assert parse_model("meta/meta-llama-3-8b-instruct") == ModelRef("meta", "meta-llama-3-8b-instruct")
    assert parse_model("acme/llm:abc123") == ModelRef("acme", "llm", "abc123")
    for bad in ("llama", "a/b/c", "a/b:", "/b"):
        with pytest.raises(InvalidRequestError):
            parse_model(bad)


def test_one_user_message_is_the_prompt_and_system_messages_join() -> None:
    messages: list[Message] = [SystemMessage("Be brief."), SystemMessage("No emoji.", role="developer"),
                               user("Hi")]
    assert render_prompt(messages) == ("Be brief.\n\nNo emoji.", "Hi")
    assert render_prompt([user("Hi")]) == (None, "Hi")


def test_multi_turn_history_is_a_transcript() -> None:
    messages: list[Message] = [user("Hi"), AssistantMessage("Hello!"), user("Name a colour.")]
    assert render_prompt(messages) == (None, "User: Hi\n\nAssistant: Hello!\n\nUser: Name a colour.")


@pytest.mark.parametrize("message", [
    UserMessage((TextPart("look"), ImagePart("https://example.com/a.png"))),
    ToolMessage("call_1", "{}"),
    AssistantMessage(None, (ToolCall("call_1", "f", "{}"),)),
])
def test_content_a_prompt_cannot_carry_is_refused(message: Message) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        render_prompt([user("hi"), message, user("again")])
    assert caught.value.param == "messages"


def test_a_conversation_needs_a_user_message() -> None:
    with pytest.raises(InvalidRequestError):
        render_prompt([SystemMessage("only rules")])


def test_parameters_use_the_llama_input_names() -> None:
    mp = ModelParameters({"model.name": "meta/x", "model.max_tokens": "100", "model.temperature": 0.5,
                          "model.top_p": 0.9, "model.top_k": 40, "model.stop": ["END", "###"],
                          "model.presence_penalty": 0.1, "model.frequency_penalty": 0.2})
    assert model_input([user("Hi")], mp) == {
        "prompt": "Hi", "temperature": 0.5, "top_p": 0.9, "presence_penalty": 0.1, "frequency_penalty": 0.2,
        "top_k": 40, "max_tokens": 100, "stop_sequences": "END,###"}
    with pytest.raises(InvalidRequestError) as caught:
        model_input([user("Hi")], ModelParameters({"model.stop": ["a,b"]}))
    assert caught.value.param == "stop"


def test_prediction_body_carries_the_version_only_when_given() -> None:
    mp = ModelParameters({})
    assert prediction_body(ModelRef("meta", "x"), [user("Hi")], mp, stream=True) == {
        "input": {"prompt": "Hi"}, "stream": True}
    assert prediction_body(ModelRef("a", "b", "v1"), [user("Hi")], mp, stream=False) == {
        "version": "v1", "input": {"prompt": "Hi"}}


def test_a_prediction_becomes_a_result_with_usage_the_right_way_round() -> None:
    result = from_prediction({"id": "p1", "model": "meta/x", "status": "succeeded", "output": ["Hel", "lo"],
                              "metrics": {"input_token_count": 12, "output_token_count": 2}})
    assert result.choices[0].content == "Hello" and result.choices[0].finish_reason == "stop"
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total) == (12, 2, 14)
    assert (result.model, result.provider_request_id) == ("meta/x", "p1")
    assert output_text("plain") == "plain" and output_text(None) == ""


def test_failed_and_canceled_predictions_raise() -> None:
    with pytest.raises(UpstreamError, match="CUDA out of memory") as failed:
        from_prediction({"id": "p1", "status": "failed", "error": "CUDA out of memory"})
    assert failed.value.code == "prediction_failed"
    with pytest.raises(UpstreamError) as canceled:
        from_prediction({"id": "p1", "status": "canceled"})
    assert canceled.value.code == "prediction_canceled"
    with pytest.raises(UpstreamError):
        output_text({"not": "text"})


def test_stream_end_events() -> None:
    check_done("{}")
    with pytest.raises(UpstreamError):
        check_done('{"reason": "canceled"}')
    with pytest.raises(UpstreamError):
        check_done('{"reason": "error"}')
    assert "Something went wrong" in stream_error('{"detail": "Something went wrong"}').message


def test_problem_details_errors() -> None:
    info = parse_replicate_error({"title": "Invalid version", "detail": "The version does not exist", "status": 422})
    assert info is not None and info.message == "The version does not exist"
    info = parse_replicate_error({"title": "Unauthenticated", "status": 401})
    assert info is not None and info.message == "Unauthenticated"
