"""The official ``mistralai`` SDK against the fake: proof the fake speaks Mistral's real format."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mistralai.client import Mistral
from mistralai.client.models import TextChunk, ThinkChunk, UserMessageTypedDict

from tests.fakes.mistral_fake import VALID_KEY, FakeMistral

HI: list[UserMessageTypedDict] = [{"role": "user", "content": "hi"}]
TOOLS: Any = [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                                "parameters": {"type": "object", "properties": {}}}}]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeMistral]:
    server = FakeMistral().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_log(fake: FakeMistral) -> None:
    fake.requests.clear()


def sdk(fake: FakeMistral) -> Mistral:
    return Mistral(api_key=VALID_KEY, server_url=fake.url)


def test_chat_complete(fake: FakeMistral) -> None:
    response = sdk(fake).chat.complete(model="mistral-small-latest", messages=HI,
                                       random_seed=1, max_tokens=20)
    assert response.choices[0].message is not None
    assert response.choices[0].message.content == "echo: hi"
    assert response.choices[0].finish_reason == "stop"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (12, 5)
    assert fake.last.body["random_seed"] == 1 and fake.last.body["max_tokens"] == 20


def test_chat_complete_reasoning_chunks(fake: FakeMistral) -> None:
    response = sdk(fake).chat.complete(model="mistral-small-latest", messages=HI,
                                       reasoning_effort="high")
    assert response.choices[0].message is not None
    content = response.choices[0].message.content
    assert isinstance(content, list)
    assert isinstance(content[0], ThinkChunk) and isinstance(content[1], TextChunk)
    assert content[1].text == "echo: hi"


def test_chat_tool_calls(fake: FakeMistral) -> None:
    response = sdk(fake).chat.complete(model="mistral-small-latest", messages=HI,
                                       tools=TOOLS, tool_choice="any")
    message = response.choices[0].message
    assert message is not None and message.tool_calls is not None
    assert isinstance(message.tool_calls, list)
    call = message.tool_calls[0]
    assert (call.id, call.function.name, call.function.arguments) == ("aB3xK9mP2", "get_weather", '{"city": "Paris"}')
    assert response.choices[0].finish_reason == "tool_calls"


def test_chat_stream(fake: FakeMistral) -> None:
    events = list(sdk(fake).chat.stream(model="mistral-small-latest", messages=HI))
    text = "".join(e.data.choices[0].delta.content for e in events
                   if isinstance(e.data.choices[0].delta.content, str))
    assert text == "echo: hi"
    last = events[-1].data
    assert last.choices[0].finish_reason == "stop"
    assert last.usage is not None and (last.usage.prompt_tokens, last.usage.completion_tokens) == (12, 2)


def test_chat_stream_tool_calls(fake: FakeMistral) -> None:
    events = list(sdk(fake).chat.stream(model="mistral-small-latest", messages=HI,
                                        tools=TOOLS, tool_choice="any"))
    calls = [c for e in events for c in (e.data.choices[0].delta.tool_calls or [])]
    assert [(c.id, c.function.name) for c in calls] == [("aB3xK9mP2", "get_weather")]
    assert events[-1].data.choices[0].finish_reason == "tool_calls"


def test_embeddings(fake: FakeMistral) -> None:
    response = sdk(fake).embeddings.create(model="mistral-embed", inputs=["a", "b"])
    assert [d.index for d in response.data] == [0, 1]
    assert response.data[0].embedding is not None and len(response.data[0].embedding) == 8
    assert response.usage.prompt_tokens == 2
