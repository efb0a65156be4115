"""llama-index's ``OpenAILike`` (``llama-index-llms-openai-like``, which pins ``openai<3``) against the gateway.

With its defaults (``is_chat_model=False``) ``.complete``, ``.stream_complete`` and even ``.chat`` go to
the legacy ``POST /v1/completions``: ``.chat`` renders the messages into one prompt and reads the
completion's text back as the assistant's message. With ``is_chat_model=True`` it speaks Chat Completions.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.clientvenvs.conftest import ClientRunner
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI

pytestmark = pytest.mark.clientvenvs

MODEL = "openai/gpt-4o-mini"
"""The gateway's ``provider/model`` form; the upstream must see the bare ``gpt-4o-mini``."""


def tokens(record: dict[str, Any]) -> tuple[str, str]:
    metrics = {m["name"]: m["value"] for m in record["metrics"]}
    return metrics["INPUT_TOKEN"], metrics["OUTPUT_TOKEN"]


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"})


def test_defaults_complete_stream_complete_and_chat_use_legacy_completions(
        llamaindex: ClientRunner, gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    result = llamaindex(gw.url + "/v1", MODEL, "complete", "stream_complete", "chat")
    assert result["openai"].startswith("2.")

    assert result["complete"]["text"] == "echo: hello llama"
    assert result["complete"]["raw"]["object"] == "text_completion"
    assert result["complete"]["raw"]["usage"]["total_tokens"] == 9

    streamed = result["stream_complete"]
    assert streamed["text"] == "echo: stream me please"
    assert [d for d in streamed["deltas"] if d] == ["echo: ", "stream ", "me ", "please"]

    chat = result["chat"]
    assert chat["role"] == "assistant"
    assert chat["content"].startswith("echo: ")
    assert "chat through the gateway" in chat["content"]

    upstream = [(r.path, r.body) for r in fake_openai.requests]
    assert [path for path, _ in upstream] == ["/v1/completions"] * 3
    bodies = [body for _, body in upstream]
    assert all(body["model"] == "gpt-4o-mini" for body in bodies)
    assert bodies[0]["prompt"] == "hello llama" and not bodies[0].get("stream")
    assert bodies[1]["prompt"] == "stream me please" and bodies[1]["stream"] is True
    assert bodies[1]["stream_options"] == {"include_usage": True}
    assert "messages" not in bodies[2]
    assert "You are terse." in bodies[2]["prompt"] and "chat through the gateway" in bodies[2]["prompt"]
    assert chat["content"] == "echo: " + bodies[2]["prompt"]

    records = sorted(gw.records(), key=lambda r: r["stream"])
    assert [(r["endpoint"], r["provider"], r["status"], r["stream"]) for r in records] == [
        ("completions", "openai", "SUCCESS", False),
        ("completions", "openai", "SUCCESS", False),
        ("completions", "openai", "SUCCESS", True),
    ]
    assert {r["model_requested"] for r in records} == {MODEL}
    assert [tokens(r) for r in records] == [("5", "4")] * 3, "the fake's usage, streamed or not"


def test_chat_model_chat_and_stream_chat_use_chat_completions(
        llamaindex: ClientRunner, gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    result = llamaindex(gw.url + "/v1", MODEL, "chat_model_chat", "chat_model_stream_chat")

    chat = result["chat_model_chat"]
    assert (chat["role"], chat["content"]) == ("assistant", "echo: chat through the gateway")
    assert chat["raw"]["object"] == "chat.completion" and chat["raw"]["usage"]["total_tokens"] == 18

    streamed = result["chat_model_stream_chat"]
    assert (streamed["role"], streamed["content"]) == ("assistant", "echo: chat through the gateway")
    assert [d for d in streamed["deltas"] if d] == ["echo: ", "chat ", "through ", "the ", "gateway"]

    assert [r.path for r in fake_openai.requests] == ["/v1/chat/completions"] * 2
    plain, stream = (r.body for r in fake_openai.requests)
    expected = [{"role": "system", "content": "You are terse."},
                {"role": "user", "content": "chat through the gateway"}]
    assert plain["messages"] == expected and stream["messages"] == expected
    assert plain["model"] == stream["model"] == "gpt-4o-mini"
    assert not plain.get("stream") and stream["stream"] is True

    records = sorted(gw.records(), key=lambda r: r["stream"])
    assert [(r["endpoint"], r["provider"], r["status"], r["stream"]) for r in records] == [
        ("chat.completions", "openai", "SUCCESS", False),
        ("chat.completions", "openai", "SUCCESS", True),
    ]
    assert tokens(records[0]) == ("11", "7")
    assert tokens(records[1]) == ("11", "5"), "the usage chunk the client asked for (stream_options)"
