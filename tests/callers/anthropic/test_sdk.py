"""The official ``anthropic`` SDK parses the fake's answers: the fake speaks the real format."""

from __future__ import annotations

import anthropic
import pytest

from tests.fakes.anthropic_fake import (
    MODEL,
    VALID_KEY,
    FakeAnthropic,
    anthropic_error,
    stream_frames,
    streamed,
    text_block_events,
    thinking_block_events,
    tool_block_events,
)


@pytest.fixture
def client(fake_anthropic: FakeAnthropic) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake_anthropic.url, api_key=VALID_KEY, max_retries=0)


def test_messages_create(client: anthropic.Anthropic, fake_anthropic: FakeAnthropic) -> None:
    reply = client.messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "hi there"}])
    assert fake_anthropic.last.path == "/v1/messages"
    assert reply.content[0].type == "text" and reply.content[0].text == "echo: hi there"
    assert (reply.stop_reason, reply.model, reply.id) == ("end_turn", MODEL, "msg_fake1")
    assert (reply.usage.input_tokens, reply.usage.cache_read_input_tokens, reply.usage.output_tokens) == (11, 3, 7)


def test_messages_create_tool_use(client: anthropic.Anthropic) -> None:
    reply = client.messages.create(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "weather?"}],
        tools=[{"name": "get_weather", "input_schema": {"type": "object"}}],
        tool_choice={"type": "tool", "name": "get_weather"})
    block = reply.content[0]
    assert block.type == "tool_use" and (block.id, block.name, block.input) == ("toolu_01", "get_weather",
                                                                                {"city": "Paris"})
    assert reply.stop_reason == "tool_use"


def test_messages_stream_helper_accumulates_the_fake_stream(client: anthropic.Anthropic,
                                                            fake_anthropic: FakeAnthropic) -> None:
    blocks = [*thinking_block_events(0, ["ponder"]), *text_block_events(1, ["Hel", "lo"]),
              *tool_block_events(2, "toolu_a", "get_weather", ['{"city"', ': "Rome"}'])]
    fake_anthropic.enqueue(streamed(stream_frames(blocks, "tool_use", output_tokens=9)))
    with client.messages.stream(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "x"}]) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert texts == ["Hel", "lo"]
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]
    assert final.content[0].thinking == "ponder"  # type: ignore[union-attr]
    assert final.content[2].input == {"city": "Rome"}  # type: ignore[union-attr]
    assert (final.stop_reason, final.usage.output_tokens, final.usage.input_tokens) == ("tool_use", 9, 11)


def test_create_stream_true_yields_typed_events(client: anthropic.Anthropic) -> None:
    events = list(client.messages.create(model=MODEL, max_tokens=100, stream=True,
                                         messages=[{"role": "user", "content": "a b"}]))
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop" and "message_delta" in kinds
    deltas = [e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta"]
    assert "".join(deltas) == "echo: a b"


def test_errors_and_models_list(client: anthropic.Anthropic, fake_anthropic: FakeAnthropic) -> None:
    assert [m.id for m in client.models.list()] == [MODEL]
    fake_anthropic.enqueue(anthropic_error(429, "rate_limit_error", "slow down", {"retry-after": "3"}))
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    bad = anthropic.Anthropic(base_url=fake_anthropic.url, api_key="sk-ant-bad", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}])
