"""``/v1/messages`` translated for a provider that does not speak it (OpenAI), through the
official ``anthropic`` SDK against the running gateway and the fake OpenAI upstream."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic.types import ToolChoiceParam

from tests.api_anthropic.conftest import TRANSLATED, client, raw_stream, record
from tests.api_anthropic.event_shapes import MESSAGE, check_stream, validate
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes import mistral_fake
from tests.fakes.mistral_fake import FakeMistral
from tests.fakes.openai_fake import FakeOpenAI, chunk, usage_chunk
from tests.fakes.server import Scripted, sse

WEATHER: Any = {"name": "get_weather", "description": "Current weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
HELLO: Any = [{"role": "user", "content": "hello there"}]


def test_create_maps_the_body_and_the_answer(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    message = client(gw).messages.create(
        model=TRANSLATED, max_tokens=64, system=[{"type": "text", "text": "be brief"}], messages=HELLO,
        stop_sequences=["END"], metadata={"user_id": "u-1"}, extra_body={"temperature": 0.5, "top_p": 0.9},
        extra_headers={"x-request-id": "m-create"})
    validate(MESSAGE, message.model_dump())
    assert message.id.startswith("msg_") and message.model == TRANSLATED
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].type == "text" and message.content[0].text == "echo: hello there"
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    assert (message.usage.input_tokens, message.usage.output_tokens, message.usage.cache_read_input_tokens) == (
        8, 7, 3)
    sent = fake_openai.last.body
    assert sent["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]
    assert (sent["max_completion_tokens"], sent["stop"], sent["temperature"], sent["top_p"], sent["user"]) == (
        64, ["END"], 0.5, 0.9, "u-1")
    rec = record(gw, "m-create")
    assert (rec["endpoint"], rec["provider"], rec["status"], rec["input_tokens"], rec["output_tokens"]) == (
        "messages", "openai", "SUCCESS", 11, 7)


def test_stream_text_in_anthropic_order(gw: RunningGateway) -> None:
    events = raw_stream(gw, {"model": TRANSLATED, "max_tokens": 32, "messages": HELLO})
    check_stream(events)
    assert "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta") == "echo: hello there"
    with client(gw).messages.stream(model=TRANSLATED, max_tokens=32, messages=HELLO) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "text" and final.content[0].text == "echo: hello there"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 3


def test_stream_tool_call_carries_its_arguments(gw: RunningGateway) -> None:
    body = {"model": TRANSLATED, "max_tokens": 32, "messages": HELLO, "tools": [WEATHER],
            "tool_choice": {"type": "tool", "name": "get_weather"}}
    events = raw_stream(gw, body)
    check_stream(events)
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert starts == [{"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}}]
    fragments = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta"]
    assert "".join(fragments) == '{"city": "Paris"}'
    with client(gw).messages.stream(**body) as stream:
        final = stream.get_final_message()
    block = final.content[0]
    assert block.type == "tool_use" and block.input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"


def test_create_tool_call_and_tool_result_round_trip(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    sdk = client(gw)
    first = sdk.messages.create(model=TRANSLATED, max_tokens=32, messages=HELLO, tools=[WEATHER],
                                tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True})
    assert first.stop_reason == "tool_use"
    call = first.content[0]
    assert call.type == "tool_use" and call.input == {"city": "Paris"}
    assert fake_openai.last.body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert fake_openai.last.body["parallel_tool_calls"] is False
    second = sdk.messages.create(model=TRANSLATED, max_tokens=32, tools=[WEATHER], messages=[
        *HELLO, {"role": "assistant", "content": [{"type": "text", "text": "Let me check."},
                                     {"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call.id, "content": [{"type": "text", "text": "sunny"}]},
            {"type": "tool_result", "tool_use_id": "call_2", "content": "no such city", "is_error": True},
            {"type": "text", "text": "and now?"}]}])
    assert second.content[0].type == "text" and second.content[0].text == "echo: and now?"
    sent = fake_openai.last.body["messages"]
    assert sent[1]["tool_calls"] == [{"id": call.id, "type": "function",
                                      "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]
    assert sent[1]["content"] == "Let me check."
    assert sent[2:] == [{"role": "tool", "tool_call_id": call.id, "content": "sunny"},
                        {"role": "tool", "tool_call_id": "call_2", "content": "Error: no such city"},
                        {"role": "user", "content": "and now?"}]


def test_tool_choice_auto_any_none(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    choices: list[tuple[ToolChoiceParam, str]] = [({"type": "auto"}, "auto"), ({"type": "any"}, "required"),
                                                  ({"type": "none"}, "none")]
    for given, sent in choices:
        client(gw).messages.create(model=TRANSLATED, max_tokens=8, messages=HELLO, tools=[WEATHER],
                                   tool_choice=given)
        assert fake_openai.last.body["tool_choice"] == sent
        assert fake_openai.last.body["tools"][0]["function"]["parameters"] == WEATHER["input_schema"]


def test_images_base64_and_url(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    client(gw).messages.create(model=TRANSLATED, max_tokens=8, messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {"type": "text", "text": "what is it?"}]}])
    parts = fake_openai.last.body["messages"][0]["content"]
    assert [p.get("image_url", {}).get("url") for p in parts[:2]] == [
        "data:image/png;base64,iVBORw0KGgo=", "https://example.com/cat.png"]


def test_thinking_stream_from_reasoning(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    frames = sse([chunk({"role": "assistant", "reasoning_content": "Let me "}), chunk({"reasoning_content": "think."}),
                  chunk({"content": "Hi"}), chunk({}, "stop"), usage_chunk(11, 5)], done=True)
    fake_openai.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    events = raw_stream(gw, {"model": TRANSLATED, "max_tokens": 32, "messages": HELLO})
    check_stream(events)
    assert [d["content_block"]["type"] for n, d in events if n == "content_block_start"] == ["thinking", "text"]
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    assert [d["type"] for d in deltas] == ["thinking_delta", "thinking_delta", "text_delta"]
    assert events[-2][1]["usage"]["output_tokens"] == 5


def test_error_after_the_first_byte_is_an_error_event(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    frames = sse([chunk({"role": "assistant", "content": "Hi"})])
    fake_openai.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    events = raw_stream(gw, {"model": TRANSLATED, "max_tokens": 32, "messages": HELLO})
    check_stream(events)
    assert events[-1][0] == "error" and events[-1][1]["error"]["type"] in ("api_error", "overloaded_error")


def test_top_k_is_refused_by_name_unless_dropped(gateway_factory: GatewayFactory) -> None:
    """Mistral does not honour ``top_k``."""
    fake = FakeMistral().start()
    try:
        env = {"MISTRAL_API_KEY": mistral_fake.VALID_KEY, "MISTRAL_BASE_URL": fake.url}
        model = f"mistral/{mistral_fake.MODEL}"
        with pytest.raises(anthropic.BadRequestError) as caught:
            client(gateway_factory(env=env)).messages.create(model=model, max_tokens=8, messages=HELLO,
                                                             extra_body={"top_k": 5})
        assert "top_k" in caught.value.message
        assert caught.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
        lenient = client(gateway_factory(env=env, drop_unsupported_params=True))
        message = lenient.messages.create(model=model, max_tokens=8, messages=HELLO, extra_body={"top_k": 5})
        assert message.role == "assistant" and "top_k" not in fake.last.body
    finally:
        fake.stop()


def test_what_cannot_be_translated_is_a_400_naming_it(gw: RunningGateway) -> None:
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}
    for body, param in (
        ({"messages": [{"role": "user", "content": [document]}]}, "messages[0].content[0].type"),
        ({"messages": HELLO, "service_tier": "auto"}, "service_tier"),
        ({"messages": HELLO, "tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools[0].type"),
    ):
        response = gw.http.post("/v1/messages", json={"model": TRANSLATED, "max_tokens": 8, **body})
        assert response.status_code == 400, response.text
        error = response.json()
        assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
        assert param in error["error"]["message"] or param.split(".")[0] in error["error"]["message"]
