"""Pure translation: neutral request -> Cohere v2 body, Cohere responses and stream events -> neutral results."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.callers.base import ChatCompletionOptions, RequestContext
from gateway.callers.cohere.embedding import embed_body, embed_usage
from gateway.callers.cohere.request import to_cohere_chat
from gateway.callers.cohere.rerank import rankings
from gateway.callers.cohere.response import from_cohere_chat, usage_from_cohere
from gateway.callers.cohere.stream import StreamAccumulator
from gateway.callers.cohere.wire import parse_cohere_error
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
from gateway.errors import InvalidRequestError, UnsupportedParameterError, UpstreamError
from tests.fakes.cohere_fake import chat_response, message_end, text_events, tool_call, tool_call_events

WEATHER = ToolDefinition("get_weather", "Weather by city",
                         {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


def dotted(values: dict[str, Any]) -> dict[str, Any]:
    """Dotted parameter names to pass as ``**kwargs``; typed ``Any`` so mypy does not check them against the
    helpers' named arguments."""
    return values


def options(tools: tuple[ToolDefinition, ...] = (), **params: Any) -> ChatCompletionOptions:
    parameters = ModelParameters({"model.name": "command-a-03-2025", **params})
    return ChatCompletionOptions(RequestContext("req_1"), parameters, tool_definitions=tools)


def body(messages: list[Message] | None = None, tools: tuple[ToolDefinition, ...] = (), **params: Any,
         ) -> dict[str, Any]:
    return to_cohere_chat(messages or [UserMessage((TextPart("hi"),))], options(tools, **params), stream=False)


def test_messages_translate_roles_images_tool_calls_and_results() -> None:
    call = ToolCall("call_1", "get_weather", '{"city": "Paris"}')
    messages: list[Message] = [
        SystemMessage("Be brief."),
        SystemMessage("Developer rules.", role="developer"),
        UserMessage((TextPart("What is this?"), ImagePart("data:image/png;base64,AAAA", "low"),
                     ImagePart("https://example.com/cat.png"))),
        AssistantMessage(content="Let me check.", tool_calls=(call,)),
        ToolMessage("call_1", '{"temp": 21}'),
        AssistantMessage(content="It is 21C."),
    ]
    assert body(messages)["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Developer rules."},
        {"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]},
        {"role": "assistant", "tool_plan": "Let me check.", "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
        {"role": "assistant", "content": "It is 21C."},
    ]


def test_parameters_map_to_cohere_names() -> None:
    sent = body(**dotted({"model.temperature": "0.3", "model.top_p": 0.9, "model.top_k": 40, "model.max_tokens": 128,
                   "model.stop": ["END", "STOP"], "model.seed": 7, "model.frequency_penalty": 0.1,
                   "model.presence_penalty": 0.2}))
    assert sent == {"model": "command-a-03-2025", "messages": [{"role": "user", "content": "hi"}], "stream": False,
                    "temperature": 0.3, "p": 0.9, "k": 40, "max_tokens": 128, "stop_sequences": ["END", "STOP"],
                    "seed": 7, "frequency_penalty": 0.1, "presence_penalty": 0.2}


def test_seed_aliases_p_k_and_comma_separated_stop() -> None:
    sent = body(**dotted({"model.p": "0.5", "model.k": "3", "model.stop_sequences": "a,b"}))
    assert (sent["p"], sent["k"], sent["stop_sequences"]) == (0.5, 3, ["a", "b"])


def test_tools_and_tool_choice() -> None:
    sent = body(tools=(WEATHER, ToolDefinition("noop")), **dotted({"model.tool_choice": "required"}))
    assert sent["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
                                          "parameters": WEATHER.parameters}},
        {"type": "function", "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}}},
    ]
    assert sent["tool_choice"] == "REQUIRED"
    assert "strict_tools" not in sent
    assert body(tools=(WEATHER,), **dotted({"model.tool_choice": "none"}))["tool_choice"] == "NONE"
    assert "tool_choice" not in body(tools=(WEATHER,), **dotted({"model.tool_choice": "auto"}))
    strict = ToolDefinition("s", None, {"type": "object", "properties": {}}, strict=True)
    assert body(tools=(strict,))["strict_tools"] is True


def test_named_tool_choice_is_refused_naming_the_field() -> None:
    with pytest.raises(UnsupportedParameterError) as caught:
        body(tools=(WEATHER,),
             **dotted({"model.tool_choice": {"type": "function", "function": {"name": "get_weather"}}}))
    assert caught.value.param == "tool_choice" and caught.value.status == 400


def test_response_format_json_object_and_json_schema() -> None:
    assert body(**dotted({"model.response_format": {"type": "json_object"}}))["response_format"] == {
        "type": "json_object"}
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    sent = body(**dotted({"model.response_format": {"type": "json_schema",
                                             "json_schema": {"name": "x", "schema": schema, "strict": True}}}))
    assert sent["response_format"] == {"type": "json_object", "json_schema": schema}
    assert "response_format" not in body(**dotted({"model.response_format": '{"type": "text"}'}))
    with pytest.raises(UnsupportedParameterError):
        body(**dotted({"model.response_format": {"type": "grammar"}}))


def test_thinking_and_reasoning_effort() -> None:
    assert body(**dotted({"model.thinking": {"type": "enabled", "token_budget": 2000}}))["thinking"] == {
        "type": "enabled", "token_budget": 2000}
    assert body(**dotted({"model.thinking": '{"enabled": true, "budget_tokens": 512}'}))["thinking"] == {
        "type": "enabled", "token_budget": 512}
    assert body(**dotted({"model.reasoning_effort": "none"}))["thinking"] == {"type": "disabled"}
    assert body(**dotted({"model.reasoning_effort": "high"}))["thinking"] == {"type": "enabled"}
    with pytest.raises(InvalidRequestError):
        body(**dotted({"model.thinking": {"type": "sometimes"}}))
    with pytest.raises(InvalidRequestError):
        body(**dotted({"model.reasoning_effort": "extreme"}))


def test_response_text_tool_plan_thinking_usage_and_finish() -> None:
    result = from_cohere_chat(chat_response("Hi there", thinking="hmm"), "cohere")
    choice = result.choices[0]
    assert (choice.content, choice.reasoning, choice.finish_reason) == ("Hi there", "hmm", "stop")
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total) == (21, 4, 25)
    assert result.usage.cached_input_tokens == 5 and result.provider_request_id == "co-resp-1"
    tools = from_cohere_chat(chat_response(None, tool_calls=[tool_call("c1", "f", '{"x": 1}')], tool_plan="Plan.",
                                           finish_reason="TOOL_CALL"), "cohere").choices[0]
    assert (tools.content, tools.finish_reason) == ("Plan.", "tool_calls")
    assert tools.tool_calls == (ToolCall("c1", "f", '{"x": 1}'),)
    assert from_cohere_chat(chat_response("x", finish_reason="MAX_TOKENS"), "cohere").choices[0].finish_reason \
        == "length"
    assert from_cohere_chat(chat_response("x", finish_reason="STOP_SEQUENCE"), "cohere").choices[0].finish_reason \
        == "stop"


@pytest.mark.parametrize("reason", ["ERROR", "TIMEOUT"])
def test_failed_finish_reasons_raise(reason: str) -> None:
    with pytest.raises(UpstreamError):
        from_cohere_chat(chat_response("partial", finish_reason=reason), "cohere")


def test_usage_is_not_swapped_and_takes_integral_floats_and_billed_fallback() -> None:
    usage = usage_from_cohere({"tokens": {"input_tokens": 12.0, "output_tokens": 3.0}})
    assert (usage.input_tokens, usage.output_tokens) == (12, 3)
    assert isinstance(usage.input_tokens, int)
    billed = usage_from_cohere({"billed_units": {"input_tokens": 8, "output_tokens": 2}})
    assert (billed.input_tokens, billed.output_tokens) == (8, 2)
    assert usage_from_cohere(None).total is None


def feed_all(events: list[tuple[str, dict[str, Any]]]) -> tuple[StreamAccumulator, list[StreamEvent]]:
    acc = StreamAccumulator("cohere")
    out = [item for name, data in events for item in acc.feed(name, data)]
    return acc, out


def test_stream_text_deltas_and_usage() -> None:
    acc, out = feed_all(text_events(["Hel", "lo"]))
    assert [e.text for e in out if isinstance(e, TextDelta)] == ["Hel", "lo"]
    assert acc.finished
    result = acc.result()
    assert result.choices[0].content == "Hello" and result.choices[0].finish_reason == "stop"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (21, 4)


def test_stream_tool_calls_complete_once_at_tool_call_end() -> None:
    events = tool_call_events([("c1", "get_weather", ['{"city":', ' "Paris"}']), ("c2", "noop", ["{}"])],
                              plan=["I will ", "check."])
    acc, out = feed_all(events)
    calls = [e for e in out if isinstance(e, ToolCallEvent)]
    assert [(c.position, c.tool_call) for c in calls] == [
        (0, ToolCall("c1", "get_weather", '{"city": "Paris"}')), (1, ToolCall("c2", "noop", "{}"))]
    assert [e.text for e in out if isinstance(e, TextDelta)] == ["I will ", "check."]
    choice = acc.result().choices[0]
    assert choice.finish_reason == "tool_calls" and len(choice.tool_calls) == 2 and choice.content == "I will check."


def test_stream_thinking_is_reasoning_and_citations_are_ignored() -> None:
    events = [("content-delta", {"type": "content-delta", "index": 0,
                                 "delta": {"message": {"content": {"thinking": "Let me think"}}}}),
              ("citation-start", {"type": "citation-start", "index": 0, "delta": {"message": {"citations": {}}}}),
              message_end()]
    acc, out = feed_all(events)
    assert out == [ReasoningDelta("Let me think")]
    assert acc.result().choices[0].reasoning == "Let me think"


def test_stream_error_in_message_end_raises() -> None:
    with pytest.raises(UpstreamError) as caught:
        feed_all([*text_events(["x"], end=False), message_end("ERROR", error="internal model failure")])
    assert "internal model failure" in caught.value.message


def test_event_type_comes_from_the_data_when_the_sse_event_has_no_name() -> None:
    acc, out = feed_all([("message", data) for _, data in text_events(["a"])])
    assert acc.finished and [e.text for e in out if isinstance(e, TextDelta)] == ["a"]


def test_embed_body_defaults_and_usage() -> None:
    mp = ModelParameters({"model.dimensions": 256, "model.truncate": "end"})
    assert embed_body(["a", "b"], mp, "embed-v4.0") == {
        "model": "embed-v4.0", "texts": ["a", "b"], "input_type": "search_document", "embedding_types": ["float"],
        "output_dimension": 256, "truncate": "END"}
    assert embed_body(["q"], ModelParameters({"model.input_type": "query"}), "m")["input_type"] == "search_query"
    with pytest.raises(InvalidRequestError):
        embed_body(["q"], ModelParameters({"model.input_type": "poem"}), "m")
    usage = embed_usage({"meta": {"billed_units": {"input_tokens": 6}}})
    assert (usage.input_tokens, usage.total) == (6, 6)


def test_rankings_keep_indexes_into_documents_and_reject_bad_ones() -> None:
    ranked = rankings([{"index": 2, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.2}], 3, "cohere")
    assert [(r.index, r.relevance_score) for r in ranked] == [(2, 0.9), (0, 0.2)]
    with pytest.raises(UpstreamError):
        rankings([{"index": 5, "relevance_score": 0.9}], 3, "cohere")


def test_error_parser_reads_message() -> None:
    info = parse_cohere_error({"id": "x", "message": "invalid api token"})
    assert info is not None and info.message == "invalid api token"
