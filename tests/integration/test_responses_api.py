"""``POST /v1/responses`` translated to chat: the official ``openai`` SDK's ``responses`` resource ->
the running gateway -> the fake OpenAI Chat Completions upstream. Bodies are validated against
OpenAI's own ``Response`` schema."""

from __future__ import annotations

from typing import Any, cast

import openai
import pytest
from openai import OpenAI
from openai.types.responses import ResponseInputItemParam

from tests.conftest import GatewayFactory, RunningGateway, translated_responses_env
from tests.fakes.openai_fake import FakeOpenAI, completion
from tests.fakes.server import Scripted
from tests.openapi import assert_valid

MODEL = "openai/gpt-4o-mini"


@pytest.fixture
def gateway(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    """The ``openai`` provider at the fake, serving ``/v1/responses`` by translation."""
    return gateway_factory(env=translated_responses_env(fake_openai))
WEATHER: Any = {"type": "function", "name": "get_weather", "description": "Current weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def client(gw: RunningGateway) -> OpenAI:
    return OpenAI(base_url=gw.url + "/v1", api_key="anything", max_retries=0)


def create(gw: RunningGateway, **body: Any) -> dict[str, Any]:
    response = gw.http.post("/v1/responses", json={"model": MODEL, **body})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    assert_valid("Response", data)
    return data


def test_string_input_becomes_one_user_message(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    body = create(gateway, input="hello there", instructions="be brief", max_output_tokens=50,
                  temperature=0.5, top_p=0.9, metadata={"team": "a"}, safety_identifier="u-1")
    assert body["id"].startswith("resp_") and body["object"] == "response" and body["status"] == "completed"
    assert body["model"] == MODEL and body["instructions"] == "be brief"
    [message] = body["output"]
    assert message["type"] == "message" and message["role"] == "assistant" and message["status"] == "completed"
    assert message["content"] == [{"type": "output_text", "text": "echo: hello there", "annotations": [],
                                   "logprobs": []}]
    assert body["usage"] == {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18,
                             "input_tokens_details": {"cached_tokens": 3, "cache_write_tokens": 0},
                             "output_tokens_details": {"reasoning_tokens": 2}}
    sent = fake_openai.last.body
    assert sent["model"] == "gpt-4o-mini"
    assert sent["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]
    assert (sent["max_completion_tokens"], sent["temperature"], sent["top_p"]) == (50, 0.5, 0.9)
    assert sent["user"] == "u-1" and sent["metadata"] == {"team": "a"}
    answer = client(gateway).responses.create(model=MODEL, input="hi sdk")
    assert answer.output_text == "echo: hi sdk"
    assert answer.usage is not None and answer.usage.total_tokens == 18


def test_message_items_of_every_role(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    items: Any = [
        {"type": "message", "role": "system", "content": "sys"},
        {"role": "developer", "content": [{"type": "input_text", "text": "dev"}]},
        {"role": "user", "content": [{"type": "input_text", "text": "look"},
                                     {"type": "input_image", "image_url": "https://example.com/a.png",
                                      "detail": "low"}]},
        {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
         "content": [{"type": "output_text", "text": "seen", "annotations": []}]},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hmm"}]},
        {"role": "user", "content": "and now?"},
    ]
    create(gateway, input=items)
    assert fake_openai.last.body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "developer", "content": "dev"},
        {"role": "user", "content": [{"type": "text", "text": "look"},
                                     {"type": "image_url", "image_url": {"url": "https://example.com/a.png",
                                                                         "detail": "low"}}]},
        {"role": "assistant", "content": "seen"},
        {"role": "user", "content": "and now?"},
    ]


def test_function_tool_round_trip(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    sdk = client(gateway)
    first = sdk.responses.create(model=MODEL, input="weather in Paris?", tools=[WEATHER],
                                 tool_choice={"type": "function", "name": "get_weather"}, parallel_tool_calls=False)
    assert_valid("Response", first.model_dump(exclude_unset=True))
    sent = fake_openai.last.body
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert sent["parallel_tool_calls"] is False
    [call] = first.output
    assert call.type == "function_call" and call.call_id == "call_1" and call.name == "get_weather"
    assert call.arguments == '{"city": "Paris"}' and call.status == "completed" and call.id
    second = sdk.responses.create(model=MODEL, tools=[WEATHER], input=[
        {"role": "user", "content": "weather in Paris?"},
        cast(ResponseInputItemParam, call.model_dump(exclude_unset=True)),  # pydantic's model_dump is dict[str, Any]
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}])
    messages = fake_openai.last.body["messages"]
    assert messages[1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    assert messages[2] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
    assert second.output_text == "echo: weather in Paris?"


def test_text_format_and_reasoning_effort(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    schema = {"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"]}
    body = create(gateway, input="x", text={"format": {"type": "json_schema", "name": "echo", "schema": schema,
                                                       "strict": True}}, reasoning={"effort": "low"})
    assert fake_openai.last.body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "echo", "schema": schema, "strict": True}}
    assert fake_openai.last.body["reasoning_effort"] == "low"
    assert body["text"]["format"]["type"] == "json_schema"
    create(gateway, input="x", text={"format": {"type": "json_object"}})
    assert fake_openai.last.body["response_format"] == {"type": "json_object"}


def test_reasoning_and_length_limit(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    answer = completion("cut", finish_reason="length")
    answer["choices"][0]["message"]["reasoning_content"] = "thinking"
    fake_openai.enqueue(Scripted(json=answer))
    body = create(gateway, input="x", max_output_tokens=3)
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "max_output_tokens"}
    reasoning, message = body["output"]
    assert reasoning["type"] == "reasoning" and reasoning["summary"] == [{"type": "summary_text", "text": "thinking"}]
    assert message["content"][0]["text"] == "cut"


@pytest.mark.parametrize(("body", "param"), [
    ({"input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"input": [{"type": "file_search_call", "id": "x"}]}, "input[0].type"),
    ({"input": "x", "conversation": "conv_1"}, "conversation"),
    ({"input": "x", "tool_choice": {"type": "function", "name": "nope"}}, "tool_choice"),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}, "input[0].content[0].type"),
])
def test_what_cannot_be_translated_is_a_400(gateway: RunningGateway, body: dict[str, Any], param: str) -> None:
    response = gateway.http.post("/v1/responses", json={"model": MODEL, **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    if param == "tools[0].type":
        assert "web_search" in error["message"]
        with pytest.raises(openai.BadRequestError, match="web_search"):
            client(gateway).responses.create(model=MODEL, input="x", tools=[{"type": "web_search"}])


def test_records_name_the_endpoint(gateway: RunningGateway) -> None:
    create(gateway, input="record me")
    with gateway.http.stream("POST", "/v1/responses", json={"model": MODEL, "input": "s", "stream": True}) as r:
        r.read()
    records = gateway.records()
    assert [r["endpoint"] for r in records] == ["responses", "responses"]
    assert {r["status"] for r in records} == {"SUCCESS"}
    assert {r["total_tokens"] for r in records} >= {18}
