"""Pure tests: the think-tag state machine, request building, response and stream parsing."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from gateway.callers.base import ChatCompletionOptions, RequestContext
from gateway.callers.minimax.request import to_minimax_chat
from gateway.callers.minimax.response import from_minimax_chat
from gateway.callers.minimax.stream import MiniMaxStreamAccumulator
from gateway.callers.minimax.think import ThinkSplitter, split_think
from gateway.callers.minimax.wire import base_resp_error, parse_minimax_error
from gateway.core.messages import (
    AssistantMessage,
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
from gateway.errors import (
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    UnsupportedParameterError,
    UpstreamError,
    UpstreamTimeoutError,
)

WEATHER = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}},
                         strict=True)
CONTENT = "<think>\nThe user greets me.\n</think>\n\nHello <b>there</b>"


def dotted(values: dict[str, Any]) -> dict[str, Any]:
    """Dotted parameter names to pass as ``**kwargs``; typed ``Any`` so mypy does not check them against the
    helpers' named arguments."""
    return values


def pieces_of(text: str, cuts: tuple[int, ...]) -> list[str]:
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def run_splitter(pieces: list[str]) -> tuple[str, str]:
    splitter = ThinkSplitter()
    reasoning: list[str] = []
    text: list[str] = []
    for piece in [*pieces, None]:
        r, t = splitter.close() if piece is None else splitter.feed(piece)
        reasoning.append(r)
        text.append(t)
    return "".join(reasoning), "".join(text)


def test_splitter_gives_the_same_answer_wherever_the_deltas_are_cut() -> None:
    expected = ("The user greets me.\n", "Hello <b>there</b>")
    assert split_think(CONTENT) == expected
    for first in range(1, len(CONTENT)):
        for second in range(first, len(CONTENT), 3):
            assert run_splitter(pieces_of(CONTENT, (first, second))) == expected, (first, second)
    assert run_splitter(list(CONTENT)) == expected


def test_splitter_streams_reasoning_before_the_close_tag_arrives() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<think>\nab") == ("ab", "")
    assert splitter.feed("c</thi") == ("c", "")
    assert splitter.feed("nk>\n\nAnswer") == ("", "Answer")
    assert splitter.feed(" <think>not a block</think>") == ("", " <think>not a block</think>")


@pytest.mark.parametrize(("content", "expected"), [
    ("Plain answer", ("", "Plain answer")),
    ("  \nPlain", ("", "  \nPlain")),
    ("<thinking about it>", ("", "<thinking about it>")),
    ("<thi", ("", "<thi")),
    ("<think>cut by max_tokens", ("cut by max_tokens", "")),
    ("<think></think>Answer", ("", "Answer")),
    ("", ("", "")),
])
def test_splitter_edge_cases(content: str, expected: tuple[str, str]) -> None:
    assert split_think(content) == expected


def options(tools: tuple[ToolDefinition, ...] = (), **params: Any) -> ChatCompletionOptions:
    return ChatCompletionOptions(RequestContext("r"), ModelParameters({"model.name": "MiniMax-M2", **params}),
                                 tool_definitions=tools)


def test_request_translation() -> None:
    messages: list[Message] = [
        SystemMessage("Be brief.", role="developer"),
        UserMessage((TextPart("weather?"),)),
        AssistantMessage(None, (ToolCall("call_1", "get_weather", '{"city":"Paris"}'),)),
        ToolMessage("call_1", "18C"),
    ]
    body = to_minimax_chat(messages, options((WEATHER, ToolDefinition("noop")), **dotted({
        "model.temperature": 0, "model.top_p": 0.9, "model.max_completion_tokens": 100, "model.stop": "END",
        "model.tool_choice": "auto", "model.thinking": {"type": "disabled"}, "model.reasoning_split": True})),
        stream=True)
    assert body == {
        "model": "MiniMax-M2",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather",
                                                                  "arguments": '{"city":"Paris"}'}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        ],
        "temperature": 0.01, "top_p": 0.9, "max_completion_tokens": 100, "stop": ["END"],
        "thinking": {"type": "disabled"}, "reasoning_split": True,
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER.parameters,
                                              "description": "Weather"}},
            {"type": "function", "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}}},
        ],
        "stream": True,
    }


@pytest.mark.parametrize(("given", "sent"), [(-1, 0.01), (0, 0.01), (0.5, 0.5), (1, 1.0), (1.7, 1.0)])
def test_temperature_is_clamped_into_minimax_range(given: float, sent: float) -> None:
    assert to_minimax_chat([], options(**dotted({"model.temperature": given})), stream=False)["temperature"] == sent


def test_tool_choice_none_withholds_tools_and_forcing_a_tool_is_refused() -> None:
    body = to_minimax_chat([], options((WEATHER,), **dotted({"model.tool_choice": "none"})), stream=False)
    assert "tools" not in body and "tool_choice" not in body
    for choice in ("required", {"type": "function", "function": {"name": "get_weather"}}):
        with pytest.raises(UnsupportedParameterError):
            to_minimax_chat([], options((WEATHER,), **dotted({"model.tool_choice": choice})), stream=False)
    with pytest.raises(InvalidRequestError):
        to_minimax_chat([], options(**dotted({"model.thinking": ["x"]})), stream=False)
    assert to_minimax_chat([], options(**dotted({"model.thinking": "adaptive"})), stream=False)["thinking"] == {
        "type": "adaptive"}


def test_response_splits_think_and_counts_tokens() -> None:
    result = from_minimax_chat({
        "id": "x1", "model": "MiniMax-M2", "base_resp": {"status_code": 0, "status_msg": ""},
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "<think>\nplan\n</think>\n\n",
            "tool_calls": [{"id": "call_function_1", "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28,
                  "completion_tokens_details": {"reasoning_tokens": 6}}}, "minimax")
    choice = result.choices[0]
    assert (choice.content, choice.reasoning, choice.finish_reason) == (None, "plan\n", "tool_calls")
    assert choice.tool_calls == (ToolCall("call_function_1", "get_weather", '{"city":"Paris"}'),)
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total, usage.reasoning_tokens) == (20, 8, 28, 6)


def test_response_with_reasoning_details_and_blocked_output() -> None:
    result = from_minimax_chat({"output_sensitive": True, "choices": [{"index": 0, "finish_reason": "stop", "message": {
        "content": "", "reasoning_details": [{"type": "reasoning.text", "text": "r1"}]}}]}, "minimax")
    assert (result.choices[0].reasoning, result.choices[0].finish_reason) == ("r1", "content_filter")


@pytest.mark.parametrize(("code", "error", "envelope_code"), [
    (1004, AuthenticationError, "invalid_api_key"),
    (2049, AuthenticationError, "invalid_api_key"),
    (1002, RateLimitError, "rate_limit_exceeded"),
    (1008, RateLimitError, "insufficient_quota"),
    (1039, RateLimitError, "rate_limit_exceeded"),
    (2013, InvalidRequestError, "invalid_request"),
    (1001, UpstreamTimeoutError, "1001"),
    (1024, UpstreamError, "1024"),
    (4242, UpstreamError, "4242"),
])
def test_base_resp_codes_map_to_errors(code: int, error: type[Exception], envelope_code: str) -> None:
    body = {"choices": None, "base_resp": {"status_code": code, "status_msg": "nope"}}
    mapped = base_resp_error(body)
    assert isinstance(mapped, error) and mapped.code == envelope_code
    assert mapped.message == f"minimax: nope (MiniMax status_code {code})"
    with pytest.raises(error):
        from_minimax_chat(body, "minimax")
    info = parse_minimax_error(body)
    assert info is not None and info.code == envelope_code
    assert base_resp_error({"base_resp": {"status_code": 0, "status_msg": ""}}) is None


def _feed(acc: MiniMaxStreamAccumulator, events: list[dict[str, Any]]) -> list[StreamEvent]:
    out = [e for event in events for e in acc.feed(event)]
    return out + list(acc.close())


def delta(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields}], "usage": {"total_tokens": 0}}


def final(content: str, finish: str = "stop", **extra: Any) -> dict[str, Any]:
    return {"object": "chat.completion", "choices": [{"index": 0, "finish_reason": finish, "message": {
        "content": content, **extra}}], "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}}


def test_stream_routes_think_text_to_reasoning_and_ignores_the_repeated_final_message() -> None:
    acc = MiniMaxStreamAccumulator()
    events = _feed(acc, [delta(content="<th"), delta(content="ink>why</think>\n\nHi"), delta(content=" there"),
                         final("<think>why</think>\n\nHi there")])
    assert [(type(e).__name__, getattr(e, "text", None)) for e in events] == [
        ("ReasoningDelta", "why"), ("TextDelta", "Hi"), ("TextDelta", " there")]
    result = acc.result()
    assert (result.choices[0].content, result.choices[0].reasoning) == ("Hi there", "why")
    assert (result.usage.input_tokens, result.usage.output_tokens) == (7, 3)
    assert acc.finished


def test_stream_made_of_only_the_final_message_still_yields_its_content() -> None:
    acc = MiniMaxStreamAccumulator()
    events = _feed(acc, [final("<think>r</think>Answer")])
    assert [type(e) for e in events] == [ReasoningDelta, TextDelta]
    assert acc.result().choices[0].content == "Answer"


@pytest.mark.parametrize("texts", [["The user", " greets me."], ["The user", "The user greets me."]])
def test_stream_reasoning_details_incremental_or_cumulative(texts: list[str]) -> None:
    acc = MiniMaxStreamAccumulator()
    events = _feed(acc, [delta(content="", reasoning_details=[{"type": "reasoning.text", "text": t}])
                         for t in texts] + [delta(content="Hi"), final("Hi")])
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "The user greets me."
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hi"]


def test_stream_tool_call_fragments_and_error_events() -> None:
    acc = MiniMaxStreamAccumulator()
    events = _feed(acc, [
        delta(tool_calls=[{"index": 0, "id": "call_a", "function": {"name": "f", "arguments": ""}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": '{"x": 1}'}}]),
        delta(tool_calls=[{"index": 0, "id": "call_b", "function": {"name": "g", "arguments": "{}"}}]),
        final("", "tool_calls"),
    ])
    calls = [(e.position, e.tool_call.id, e.tool_call.name, e.tool_call.arguments)
             for e in events if isinstance(e, ToolCallEvent)]
    assert calls == [(0, "call_a", "f", '{"x": 1}'), (1, "call_b", "g", "{}")]
    assert acc.result().choices[0].finish_reason == "tool_calls"
    with pytest.raises(RateLimitError):
        list(MiniMaxStreamAccumulator().feed({"base_resp": {"status_code": 1002, "status_msg": "rate limit"}}))
    with pytest.raises(UpstreamError, match="overloaded"):
        list(MiniMaxStreamAccumulator().feed({"error": {"message": "overloaded", "type": "server_error"}}))
