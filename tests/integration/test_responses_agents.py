"""The OpenAI Agents SDK (its default ``OpenAIResponsesModel``) with a function tool, through the
gateway's translated ``/v1/responses`` to the fake OpenAI Chat Completions upstream."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import GatewayFactory, RunningGateway, translated_responses_env
from tests.fakes.openai_fake import FakeOpenAI, completion, tool_call_stream
from tests.fakes.server import Scripted

agents = pytest.importorskip("agents")
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

CALL = {"id": "call_7", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}


@pytest.fixture
def gateway(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    """The ``openai`` provider at the fake, serving ``/v1/responses`` by translation."""
    return gateway_factory(env=translated_responses_env(fake_openai))


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@pytest.mark.parametrize("stream", [False, True])
def test_agent_with_a_function_tool(gateway: RunningGateway, fake_openai: FakeOpenAI, stream: bool) -> None:
    set_tracing_disabled(True)
    if stream:
        frames = tool_call_stream([("call_7", "get_weather", ['{"city": ', '"Paris"}'])])
        fake_openai.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    else:
        fake_openai.enqueue(Scripted(json=completion(None, tool_calls=[CALL], finish_reason="tool_calls")))
    async def run() -> str:
        # closed on the way out, so its connections do not outlive this event loop
        async with AsyncOpenAI(base_url=gateway.url + "/v1", api_key="x", max_retries=0) as client:
            model = OpenAIResponsesModel("openai/gpt-4o-mini", client)
            agent = Agent(name="weather", instructions="Answer with the tool.", tools=[get_weather], model=model)
            if not stream:
                return str((await Runner.run(agent, "weather in Paris?")).final_output)
            result = Runner.run_streamed(agent, "weather in Paris?")
            async for _ in result.stream_events():
                pass
            return str(result.final_output)

    output = asyncio.run(run())
    assert output == "echo: weather in Paris?"
    messages = fake_openai.last.body["messages"]
    assert messages[0] == {"role": "system", "content": "Answer with the tool."}
    assert messages[2]["tool_calls"][0]["id"] == "call_7"
    assert messages[3] == {"role": "tool", "tool_call_id": "call_7", "content": "sunny in Paris"}
    assert fake_openai.last.body["tools"][0]["function"]["name"] == "get_weather"
