"""OpenAI stream chunks -> neutral events, against golden JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.callers.openai.response import ChunkAccumulator
from gateway.core.results import StreamEvent, TextDelta, ToolCallEvent


def _event_dict(event: StreamEvent) -> dict[str, Any]:
    if isinstance(event, TextDelta):
        return {"kind": "text", "text": event.text, "index": event.index}
    assert isinstance(event, ToolCallEvent)
    call = event.tool_call
    return {"kind": "tool_call", "position": event.position, "index": event.index, "id": call.id,
            "name": call.name, "arguments": call.arguments}


def test_chunks_become_one_delta_each_and_complete_tool_calls_once() -> None:
    case = json.loads((Path(__file__).parent / "golden" / "openai_stream.json").read_text())
    accumulator = ChunkAccumulator()
    events = [e for chunk in case["chunks"] for e in accumulator.feed(chunk)]
    events += list(accumulator.close())
    assert [_event_dict(e) for e in events] == case["events"]
    result = accumulator.result()
    expected = case["result"]
    choice = result.choices[0]
    assert choice.content == expected["choices"][0]["content"]
    assert choice.finish_reason == expected["choices"][0]["finish_reason"]
    assert [[c.id, c.name, c.arguments] for c in choice.tool_calls] == expected["choices"][0]["tool_calls"]
    usage = result.usage
    assert {k: getattr(usage, k) for k in expected["usage"]} == expected["usage"]
    assert (result.model, result.provider_request_id) == (expected["model"], expected["provider_request_id"])
    assert accumulator.finished


def test_a_stream_cut_before_finish_is_not_finished() -> None:
    accumulator = ChunkAccumulator()
    list(accumulator.feed({"choices": [{"index": 0, "delta": {"content": "par"}, "finish_reason": None}]}))
    assert not accumulator.finished


def test_tool_call_closed_by_the_end_of_stream_is_emitted_once() -> None:
    accumulator = ChunkAccumulator()
    chunk = {"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        "finish_reason": None}]}
    assert list(accumulator.feed(chunk)) == []
    closed = list(accumulator.close())
    assert len(closed) == 1 and isinstance(closed[0], ToolCallEvent)
    assert list(accumulator.close()) == []
