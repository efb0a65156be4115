"""``/v1/messages`` relayed to a provider that speaks it (Anthropic): the body reaches the
fake Anthropic upstream as the client sent it but for the model, the answer and the stream
come back as the upstream sent them, and the record still counts the usage."""

from __future__ import annotations

from typing import Any

import anthropic

from gateway.api.routes.messages import FORMAT
from gateway.callers.anthropic.native import FORMAT as CALLER_FORMAT
from tests.api_anthropic.conftest import NATIVE, TRANSLATED, client, raw_stream, record, sse_events
from tests.conftest import RunningGateway
from tests.fakes.anthropic_fake import (
    MODEL,
    VALID_KEY,
    FakeAnthropic,
    anthropic_error,
    message,
    stream_frames,
    streamed,
    text_block_events,
    thinking_block_events,
    tool_block_events,
)
from tests.fakes.openai_fake import FakeOpenAI
from tests.fakes.server import Scripted

SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+/x=="
HISTORY: Any = [
    {"role": "user", "content": [{"type": "text", "text": "hello there", "cache_control": {"type": "ephemeral"}}]},
    {"role": "assistant", "content": [{"type": "thinking", "thinking": "They greet.", "signature": SIGNATURE},
                                      {"type": "text", "text": "Hi!"}]},
    {"role": "user", "content": "and now?"},
]
BODY: Any = {"model": NATIVE, "max_tokens": 2048, "messages": HISTORY,
             "thinking": {"type": "enabled", "budget_tokens": 1024},
             "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
             "container": {"id": "c-1"}}
BETA = "interleaved-thinking-2025-05-14"


def test_the_formats_match() -> None:
    assert FORMAT == CALLER_FORMAT


def test_create_relays_body_and_answer(gw: RunningGateway, fake_anthropic: FakeAnthropic) -> None:
    answer = message([{"type": "thinking", "thinking": "Hmm.", "signature": SIGNATURE},
                      {"type": "text", "text": "Fine.", "citations": None}])
    fake_anthropic.enqueue(Scripted(json=answer), Scripted(json=answer))
    sdk = client(gw, key="gateway-key")
    result = sdk.messages.create(**BODY, extra_headers={"anthropic-beta": BETA, "x-request-id": "n-create"})
    sent = fake_anthropic.last
    assert sent.body == {**BODY, "model": MODEL}
    assert sent.headers["anthropic-beta"] == BETA
    assert sent.headers["x-api-key"] == VALID_KEY and "authorization" not in sent.headers
    assert result.content[0].type == "thinking" and result.content[0].signature == SIGNATURE
    assert result.model == MODEL and result.id == "msg_fake1"
    raw = gw.http.post("/v1/messages", json=BODY)
    assert raw.json()["content"][0]["signature"] == SIGNATURE
    rec = record(gw, "n-create")
    assert (rec["endpoint"], rec["provider"], rec["status"]) == ("messages", "anthropic", "SUCCESS")
    assert (rec["input_tokens"], rec["output_tokens"]) == (16, 7)


def test_stream_is_relayed_event_by_event(gw: RunningGateway, fake_anthropic: FakeAnthropic) -> None:
    blocks = [*thinking_block_events(0, ["Let ", "me see."]), *text_block_events(1, ["Call", "ing."]),
              *tool_block_events(2, "toolu_9", "get_weather", ['{"city"', ': "Paris"}'])]
    frames = stream_frames(blocks, "tool_use", output_tokens=21)
    fake_anthropic.enqueue(streamed(frames))
    events = raw_stream(gw, BODY, **{"x-request-id": "n-stream", "anthropic-version": "2023-06-01"})
    assert events == sse_events(b"".join(frames).decode())
    assert fake_anthropic.last.body == {**BODY, "model": MODEL, "stream": True}
    assert fake_anthropic.last.headers["anthropic-version"] == "2023-06-01"
    rec = record(gw, "n-stream")
    assert (rec["endpoint"], rec["status"], rec["input_tokens"], rec["output_tokens"]) == (
        "messages", "SUCCESS", 16, 21)
    fake_anthropic.enqueue(streamed(frames))
    with client(gw).messages.stream(**BODY) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]
    assert final.content[0].type == "thinking" and final.content[0].signature == "c2ln"
    assert final.content[2].type == "tool_use" and final.content[2].input == {"city": "Paris"}


def test_an_error_event_mid_stream_ends_it_in_band(gw: RunningGateway, fake_anthropic: FakeAnthropic) -> None:
    frames = stream_frames(text_block_events(0, ["Hi"]), end=False)
    frames.append(b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", '
                  b'"message": "Overloaded"}}\n\n')
    fake_anthropic.enqueue(streamed(frames))
    events = raw_stream(gw, BODY)
    assert events[-1][0] == "error" and events[-1][1]["error"]["type"] == "overloaded_error"


def test_alias_falls_back_to_a_translated_provider(gw: RunningGateway, fake_anthropic: FakeAnthropic,
                                                   fake_openai: FakeOpenAI) -> None:
    fake_anthropic.enqueue(anthropic_error(500, "api_error", "boom"))
    result = client(gw).messages.create(model="claude", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
                                        extra_headers={"x-request-id": "n-fallback"})
    assert result.content[0].type == "text" and result.content[0].text == "echo: hi"
    assert fake_openai.last.body["model"] == TRANSLATED.split("/", 1)[1]
    rec = record(gw, "n-fallback")
    assert (rec["provider"], rec["status"]) == ("openai", "SUCCESS")


def test_upstream_errors_keep_their_class(gw: RunningGateway, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(anthropic_error(429, "rate_limit_error", "slow down", {"retry-after": "3"}))
    try:
        client(gw).messages.create(**BODY)
    except anthropic.RateLimitError as exc:
        assert exc.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
        assert exc.response.headers["retry-after"] == "3"
    else:
        raise AssertionError("no RateLimitError")
