"""pydantic-ai as a client, unmodified, over real HTTP: its ``OpenAIResponsesModel`` (``POST /v1/responses``,
translated by the gateway to the fake OpenAI Chat Completions upstream) and its ``OpenAIChatModel``
(``POST /v1/chat/completions``), both through ``OpenAIProvider(base_url=<gateway>/v1)``. An agent with a
function tool does one tool-call round trip, plain, with ``run_stream`` and with ``run_stream_events``; a
pydantic ``output_type`` comes back through the Responses model in both of pydantic-ai's output modes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import BaseModel

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, completion, tool_call_stream
from tests.fakes.server import Scripted

pytest.importorskip("pydantic_ai")
from pydantic_ai import (
    Agent,
    AgentRunResult,
    AgentRunResultEvent,
    FunctionToolCallEvent,
    FunctionToolResultEvent,
    NativeOutput,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
)
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
from pydantic_ai.providers.openai import OpenAIProvider

CALL = {"id": "call_7", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
MODELS = {"responses": OpenAIResponsesModel, "chat.completions": OpenAIChatModel}


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


class Weather(BaseModel):
    city: str
    temperature_c: int


class Echo(BaseModel):
    echo: str


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    """``/v1/responses`` in the translated mode: Responses in, Chat Completions to the fake upstream."""
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1",
                                "OPENAI_RESPONSES_API": "translated"})


def model_for(endpoint: str, gw: RunningGateway) -> Any:
    return MODELS[endpoint]("openai/gpt-4o-mini", provider=OpenAIProvider(base_url=gw.url + "/v1", api_key="x"))


def chats(fake: FakeOpenAI) -> list[Any]:
    """What the upstream received: every request was a chat completion (nothing went to a Responses API)."""
    assert [r.path for r in fake.requests] == ["/v1/chat/completions"] * len(fake.requests)
    return fake.requests


@pytest.mark.parametrize("endpoint", list(MODELS))
@pytest.mark.parametrize("mode", ["run", "run_stream", "run_stream_events"])
def test_agent_with_a_function_tool(gw: RunningGateway, fake_openai: FakeOpenAI, endpoint: str, mode: str) -> None:
    if mode == "run":
        fake_openai.enqueue(Scripted(json=completion(None, tool_calls=[CALL], finish_reason="tool_calls")))
    else:
        frames = tool_call_stream([("call_7", "get_weather", ['{"city": ', '"Paris"}'])])
        fake_openai.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    agent = Agent(model_for(endpoint, gw), instructions="Answer with the tool.", tools=[get_weather])
    deltas: list[str] = []
    tool_events: list[Any] = []

    async def run() -> tuple[str, int]:
        async with agent:  # entered, the agent closes its provider's HTTP client (and sockets) on exit
            if mode == "run":
                result = await agent.run("weather in Paris?")
                return result.output, result.usage.input_tokens
            if mode == "run_stream":
                async with agent.run_stream("weather in Paris?") as streamed:
                    deltas.extend([d async for d in streamed.stream_text(delta=True, debounce_by=None)])
                    return await streamed.get_output(), streamed.usage.input_tokens
            async with agent.run_stream_events("weather in Paris?") as events:
                async for event in events:
                    if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
                        deltas.append(event.part.content)
                    elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
                        deltas.append(event.delta.content_delta)
                    elif isinstance(event, FunctionToolCallEvent | FunctionToolResultEvent):
                        tool_events.append(event)
                    elif isinstance(event, AgentRunResultEvent):
                        return event.result.output, event.result.usage.input_tokens
            raise AssertionError("the event stream ended without a result")

    output, input_tokens = asyncio.run(run())
    assert output == "echo: weather in Paris?"
    assert input_tokens == 22  # 11 prompt tokens on each of the two upstream answers
    if mode != "run":
        assert len(deltas) > 1 and "".join(deltas) == "echo: weather in Paris?"  # streamed word by word
    if mode == "run_stream_events":
        call, returned = tool_events
        assert (call.part.tool_name, call.part.args_as_dict(), call.part.tool_call_id) == (
            "get_weather", {"city": "Paris"}, "call_7")
        assert returned.part.content == "sunny in Paris"
    first, second = chats(fake_openai)
    assert first.body["messages"] == [{"role": "system", "content": "Answer with the tool."},
                                      {"role": "user", "content": "weather in Paris?"}]
    tool = first.body["tools"][0]["function"]
    assert (tool["name"], tool["description"]) == ("get_weather", "The weather in a city.")
    assert list(tool["parameters"]["properties"]) == ["city"]
    assistant, returned_message = second.body["messages"][2:]
    assert [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in assistant["tool_calls"]] == [("call_7", "get_weather", {"city": "Paris"})]
    assert returned_message == {"role": "tool", "tool_call_id": "call_7", "content": "sunny in Paris"}
    assert bool(first.body.get("stream")) is (mode != "run")
    records = gw.records()
    assert [(r["endpoint"], r["provider"], r["model_requested"], r["status"]) for r in records] == [
        (endpoint, "openai", "openai/gpt-4o-mini", "SUCCESS")] * 2
    assert sorted(r["metadata"]["finish_reason"] for r in records) == ["stop", "tool_calls"]


def test_structured_output_through_responses_with_the_output_tool(gw: RunningGateway,
                                                                  fake_openai: FakeOpenAI) -> None:
    """pydantic-ai's default output mode: the model answers by calling its ``final_result`` tool."""
    call = {"id": "call_9", "type": "function",
            "function": {"name": "final_result", "arguments": '{"city": "Paris", "temperature_c": 21}'}}
    fake_openai.enqueue(Scripted(json=completion(None, tool_calls=[call], finish_reason="tool_calls")))
    agent = Agent(model_for("responses", gw), output_type=Weather)

    async def run() -> AgentRunResult[Weather]:
        async with agent:  # closes the provider's HTTP client on exit
            return await agent.run("weather in Paris?")

    result = asyncio.run(run())
    assert result.output == Weather(city="Paris", temperature_c=21)
    (sent,) = chats(fake_openai)
    (tool,) = sent.body["tools"]
    assert tool["function"]["name"] == "final_result"
    assert set(tool["function"]["parameters"]["properties"]) == {"city", "temperature_c"}
    assert sent.body["tool_choice"] == "required"
    assert [r["endpoint"] for r in gw.records()] == ["responses"]


@pytest.mark.parametrize("stream", [False, True])
def test_structured_output_through_responses_as_a_json_schema(gw: RunningGateway, fake_openai: FakeOpenAI,
                                                              stream: bool) -> None:
    """``NativeOutput``: Responses ``text.format`` json_schema becomes ``response_format`` upstream (where the
    fake answers ``{"echo": "<last user text>"}``)."""
    agent = Agent(model_for("responses", gw), output_type=NativeOutput(Echo))

    async def run() -> Echo:
        async with agent:  # closes the provider's HTTP client on exit
            if not stream:
                return (await agent.run("hello there")).output
            async with agent.run_stream("hello there") as streamed:
                return await streamed.get_output()

    assert asyncio.run(run()) == Echo(echo="hello there")
    (sent,) = chats(fake_openai)
    response_format = sent.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Echo"
    assert response_format["json_schema"]["schema"]["properties"] == {"echo": {"type": "string"}}
    assert bool(sent.body.get("stream")) is stream
    record = gw.records()[0]
    assert (record["endpoint"], record["stream"], record["status"]) == ("responses", stream, "SUCCESS")
