"""The official ``openai`` SDK against the MiniMax fake, as MiniMax documents
("OpenAI API compatible": ``OpenAI(base_url="https://api.minimax.io/v1")``):
proof the fake speaks a format that SDK parses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.fakes.minimax_fake import THINKING, VALID_KEY, FakeMiniMax

TOOLS: Any = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeMiniMax]:
    server = FakeMiniMax().start()
    yield server
    server.stop()


def sdk(fake: FakeMiniMax, key: str = VALID_KEY) -> OpenAI:
    return OpenAI(base_url=fake.url + "/v1", api_key=key, max_retries=0)


def test_chat_keeps_think_inline_as_documented(fake: FakeMiniMax) -> None:
    completion = sdk(fake).chat.completions.create(model="MiniMax-M2", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == f"<think>\n{THINKING}\n</think>\n\necho: hi"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (14, 9)


def test_reasoning_split_puts_thinking_in_reasoning_details(fake: FakeMiniMax) -> None:
    completion = sdk(fake).chat.completions.create(model="MiniMax-M2", messages=[{"role": "user", "content": "hi"}],
                                                   extra_body={"reasoning_split": True})
    message: Any = completion.choices[0].message
    assert message.content == "echo: hi"
    assert message.reasoning_details[0]["text"] == THINKING


def test_stream(fake: FakeMiniMax) -> None:
    chunks = list(sdk(fake).chat.completions.create(model="MiniMax-M2", stream=True,
                                                    messages=[{"role": "user", "content": "hi"}]))
    deltas = [c.choices[0].delta.content or "" for c in chunks if c.object == "chat.completion.chunk"]
    assert "".join(deltas) == f"<think>\n{THINKING}\n</think>\n\necho: hi"
    last: Any = chunks[-1]
    assert last.object == "chat.completion" and last.choices[0].finish_reason == "stop"
    assert last.usage is not None and last.usage.prompt_tokens == 14


def test_tool_calls(fake: FakeMiniMax) -> None:
    completion = sdk(fake).chat.completions.create(model="MiniMax-M2", tools=TOOLS,
                                                   messages=[{"role": "user", "content": "weather?"}])
    calls = completion.choices[0].message.tool_calls
    assert calls is not None and calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    chunks = list(sdk(fake).chat.completions.create(model="MiniMax-M2", tools=TOOLS, stream=True,
                                                    messages=[{"role": "user", "content": "weather?"}]))
    fragments = [tc for c in chunks if c.object == "chat.completion.chunk"
                 for tc in c.choices[0].delta.tool_calls or []]
    assert "".join(f.function.arguments or "" for f in fragments if f.function) == '{"city": "Paris"}'


def test_bad_key_is_http_200_with_base_resp(fake: FakeMiniMax) -> None:
    completion: Any = sdk(fake, "wrong").chat.completions.create(model="MiniMax-M2",
                                                                 messages=[{"role": "user", "content": "hi"}])
    assert completion.base_resp["status_code"] == 1004 and not completion.choices
    with pytest.raises(openai.AuthenticationError):
        sdk(fake, "wrong").models.list()
    assert [m.id for m in sdk(fake).models.list()] == ["MiniMax-M2"]
