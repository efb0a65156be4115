"""The ``/v1/responses`` stream lifecycle over a translated provider: every event validated against
OpenAI's own event schemas, ``sequence_number`` counting from 0, ids and indexes consistent, and
the SDK's ``responses.stream`` helper and ``create(stream=True)`` reading it."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import yaml
from openai import OpenAI

from tests.conftest import GatewayFactory, RunningGateway, translated_responses_env
from tests.fakes.openai_fake import FakeOpenAI, chunk, completion, usage_chunk
from tests.fakes.server import Scripted, sse
from tests.openapi import SPEC_PATH, assert_valid

MODEL = "openai/gpt-4o-mini"


@pytest.fixture
def gateway(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    """The ``openai`` provider at the fake, serving ``/v1/responses`` by translation."""
    return gateway_factory(env=translated_responses_env(fake_openai))
WEATHER: Any = {"type": "function", "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


@functools.cache
def event_schemas() -> dict[str, str]:
    """Event type -> the name of its schema in OpenAI's document."""
    spec = yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    schemas = spec["components"]["schemas"]
    names = [ref["$ref"].rsplit("/", 1)[-1] for ref in schemas["ResponseStreamEvent"]["anyOf"]]
    return {schemas[n]["properties"]["type"]["enum"][0]: n for n in names}


def read_events(lines: Iterator[str]) -> list[dict[str, Any]]:
    """The events of a Responses stream's lines, each checked: its SSE ``event:`` name equals its
    type and it fits its schema in OpenAI's document."""
    events: list[dict[str, Any]] = []
    name = None
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            event = orjson.loads(line[6:])
            assert event["type"] == name
            assert_valid(event_schemas()[event["type"]], event)
            events.append(event)
    return events


def stream_events(gw: RunningGateway, **body: Any) -> list[dict[str, Any]]:
    """The events of a streamed response (``read_events``), their sequence numbers running from 0
    without gaps."""
    with gw.http.stream("POST", "/v1/responses", json={"model": MODEL, "stream": True, **body}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response.iter_lines())
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"].removeprefix("response.") for e in events]


def test_text_stream_lifecycle(gateway: RunningGateway) -> None:
    events = stream_events(gateway, input="hello there")
    assert types(events) == ["created", "in_progress", "output_item.added", "content_part.added",
                             "output_text.delta", "output_text.delta", "output_text.delta", "output_text.done",
                             "content_part.done",
                             "output_item.done", "completed"]
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    item_id = events[2]["item"]["id"]
    assert {e["item_id"] for e in events[3:9]} == {item_id}
    assert {e["output_index"] for e in events[2:10]} == {0}
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "echo: hello there"
    assert events[7]["text"] == "echo: hello there"
    final = events[-1]["response"]
    assert final["status"] == "completed" and final["id"] == events[0]["response"]["id"]
    assert final["output"] == [events[9]["item"]] and final["output"][0]["id"] == item_id
    assert final["usage"]["total_tokens"] == 14


def test_tool_call_stream(gateway: RunningGateway) -> None:
    events = stream_events(gateway, input="weather?", tools=[WEATHER],
                           tool_choice={"type": "function", "name": "get_weather"})
    assert types(events) == ["created", "in_progress", "output_item.added", "function_call_arguments.delta",
                             "function_call_arguments.done", "output_item.done", "completed"]
    added, done = events[2]["item"], events[5]["item"]
    assert added["status"] == "in_progress" and added["arguments"] == ""
    assert done == {**added, "status": "completed", "arguments": '{"city": "Paris"}'}
    assert events[4]["name"] == "get_weather" and events[4]["item_id"] == added["id"]
    assert events[-1]["response"]["output"] == [done]


def test_reasoning_then_text_then_incomplete(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    frames = sse([chunk({"role": "assistant", "reasoning_content": "let me "}), chunk({"reasoning_content": "see"}),
                  chunk({"content": "ok"}), chunk({}, "length"), usage_chunk()], done=True)
    fake_openai.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    events = stream_events(gateway, input="x", max_output_tokens=5)
    assert types(events) == [
        "created", "in_progress", "output_item.added", "reasoning_summary_part.added",
        "reasoning_summary_text.delta", "reasoning_summary_text.delta", "reasoning_summary_text.done",
        "reasoning_summary_part.done", "output_item.done", "output_item.added", "content_part.added",
        "output_text.delta", "output_text.done", "content_part.done", "output_item.done", "incomplete"]
    assert events[6]["text"] == "let me see" and events[8]["item"]["type"] == "reasoning"
    assert events[9]["output_index"] == 1 and events[11]["output_index"] == 1
    final = events[-1]["response"]
    assert final["status"] == "incomplete" and final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert [i["type"] for i in final["output"]] == ["reasoning", "message"]


def test_error_after_the_first_byte_is_response_failed(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    frames = sse([chunk({"role": "assistant", "content": "partial"}),
                  {"error": {"message": "upstream exploded", "type": "server_error"}}])
    fake_openai.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    events = stream_events(gateway, input="x")
    assert types(events)[-4:] == ["output_text.done", "content_part.done", "output_item.done", "failed"]
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and "upstream exploded" in failed["error"]["message"]
    assert failed["error"]["code"] == "server_error"
    assert failed["output"][0]["content"][0]["text"] == "partial"
    record = gateway.records()[0]
    assert (record["endpoint"], record["status"]) == ("responses", "FAILED")


def test_sdk_stream_helper_and_create_stream(gateway: RunningGateway) -> None:
    sdk = OpenAI(base_url=gateway.url + "/v1", api_key="anything", max_retries=0)
    with sdk.responses.stream(model=MODEL, input="hello there") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "echo: hello there" and final.output_text == "echo: hello there"
    assert final.status == "completed"
    seen = list(sdk.responses.create(model=MODEL, input="weather?", tools=[WEATHER], stream=True,
                                     tool_choice={"type": "function", "name": "get_weather"}))
    assert seen[0].type == "response.created" and seen[-1].type == "response.completed"
    done = [e for e in seen if e.type == "response.function_call_arguments.done"]
    assert done[0].arguments == '{"city": "Paris"}'
    with sdk.responses.stream(model=MODEL, input="w", tools=[WEATHER],
                              tool_choice={"type": "function", "name": "get_weather"}) as stream:
        calls = stream.get_final_response().output
    assert calls[0].type == "function_call" and calls[0].arguments == '{"city": "Paris"}'


def test_refusal_is_a_message_part(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    frames = sse([chunk({"role": "assistant", "refusal": "I can't "}), chunk({"refusal": "help."}),
                  chunk({}, "stop"), usage_chunk()], done=True)
    fake_openai.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    events = stream_events(gateway, input="x")
    assert types(events) == ["created", "in_progress", "output_item.added", "content_part.added", "refusal.delta",
                             "refusal.done", "content_part.done", "output_item.done", "completed"]
    part = {"type": "refusal", "refusal": "I can't help."}
    assert events[-1]["response"]["output"][0]["content"] == [part]
    answer = completion(None)
    answer["choices"][0]["message"]["refusal"] = "No."
    fake_openai.enqueue(Scripted(json=answer))
    body = gateway.http.post("/v1/responses", json={"model": MODEL, "input": "x"}).json()
    assert_valid("Response", body)
    assert body["output"][0]["content"] == [{"type": "refusal", "refusal": "No."}]
