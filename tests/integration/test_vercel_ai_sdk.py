"""The Vercel AI SDK (npm ``ai`` + ``@ai-sdk/openai``, unmodified, on Node) against the running gateway.

``openai(model)`` speaks the Responses API (``POST /v1/responses``, translated by the gateway to chat
completions on the fake upstream), ``openai.chat(model)`` chat completions, ``openai.embedding(model)``
embeddings. ``tests/node/ai_sdk_check.mjs`` runs the named cases and prints one JSON line: what the SDK
returned, plus ``sent``, the requests the SDK put on the wire to the gateway.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, completion, fake_vector, text_stream, tool_call_stream
from tests.fakes.server import Scripted

pytestmark = pytest.mark.node

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
PACKAGES = ("ai", "@ai-sdk/openai", "zod")
TOOL_ARGS = '{"city":"Paris"}'
TOOL_OUTPUT = '{"city":"Paris","celsius":21}'
ANSWER = "It is 21C in Paris."
CALL = {"id": "call_w1", "type": "function", "function": {"name": "weather", "arguments": TOOL_ARGS}}


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    """The gateway with /v1/responses forced onto the translated path (Responses -> chat completions)."""
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1",
                                "OPENAI_RESPONSES_API": "translated"})


def run_cases(gw: RunningGateway, *cases: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not all((NODE_DIR / "node_modules" / p).is_dir() for p in PACKAGES):
        pytest.skip("Node.js or tests/node/node_modules/{ai,@ai-sdk/openai,zod} is missing "
                    "(run `make test`, which installs them)")
    completed = subprocess.run([node, str(NODE_DIR / "ai_sdk_check.mjs"), gw.url + "/v1", ",".join(cases)],
                               capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    assert sorted(result) == sorted(cases)
    return result


def ok(result: dict[str, Any], case: str) -> dict[str, Any]:
    """One case's outcome, failing with the SDK's error (status, body, URL) when it raised."""
    outcome: dict[str, Any] = result[case]
    assert "error" not in outcome, json.dumps(outcome["error"], indent=1)
    return outcome


def endpoints(gw: RunningGateway) -> list[tuple[str, str, bool]]:
    return sorted((r["endpoint"], r["provider"], r["stream"]) for r in gw.records())


def usage(input_: int, output: int, cached: int, reasoning: int) -> dict[str, int]:
    return {"input": input_, "output": output, "total": input_ + output, "cached": cached, "reasoning": reasoning}


def test_responses_api_generate_and_stream(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    result = run_cases(gw, "responses_generate", "responses_stream")
    generated, streamed = ok(result, "responses_generate"), ok(result, "responses_stream")
    assert generated["text"] == "echo: hello responses" and generated["finishReason"] == "stop"
    assert generated["usage"] == usage(11, 7, cached=3, reasoning=2)
    assert generated["responseId"].startswith("resp_")
    assert streamed["text"] == "echo: stream the responses api" and streamed["finishReason"] == "stop"
    assert streamed["deltas"] == 5 and streamed["errors"] == []
    assert {k: streamed["usage"][k] for k in ("input", "output", "total")} == {"input": 11, "output": 5, "total": 16}
    assert streamed["totalUsage"] == streamed["usage"]
    # The SDK really spoke the Responses API to the gateway ...
    [sent_generate] = generated["sent"]
    [sent_stream] = streamed["sent"]
    assert (sent_generate["path"], sent_stream["path"]) == ("/v1/responses", "/v1/responses")
    assert sent_generate["body"]["input"] == [{"role": "user", "content": [{"type": "input_text",
                                                                            "text": "hello responses"}]}]
    assert sent_stream["body"]["stream"] is True and "stream" not in sent_generate["body"]
    # ... and the gateway translated it to chat completions upstream.
    first, second = fake_openai.requests
    assert (first.path, second.path) == ("/v1/chat/completions", "/v1/chat/completions")
    assert first.body == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello responses"}]}
    assert second.body["messages"] == [{"role": "user", "content": "stream the responses api"}]
    assert second.body["stream"] is True and second.body["stream_options"] == {"include_usage": True}
    assert endpoints(gw) == [("responses", "openai", False), ("responses", "openai", True)]


def test_chat_completions_generate_and_stream(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    result = run_cases(gw, "chat_generate", "chat_stream")
    generated, streamed = ok(result, "chat_generate"), ok(result, "chat_stream")
    assert generated["text"] == "echo: hello chat" and generated["finishReason"] == "stop"
    assert generated["usage"] == usage(11, 7, cached=3, reasoning=2)
    assert streamed["text"] == "echo: stream the chat api" and streamed["deltas"] == 5 and streamed["errors"] == []
    assert {k: streamed["usage"][k] for k in ("input", "output", "total")} == {"input": 11, "output": 5, "total": 16}
    assert [s["path"] for s in generated["sent"] + streamed["sent"]] == ["/v1/chat/completions"] * 2
    assert streamed["sent"][0]["body"]["stream_options"] == {"include_usage": True}
    first, second = fake_openai.requests
    assert first.body == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello chat"}]}
    assert second.body["messages"] == [{"role": "user", "content": "stream the chat api"}]
    assert second.body["stream"] is True and second.body["stream_options"] == {"include_usage": True}
    assert endpoints(gw) == [("chat.completions", "openai", False), ("chat.completions", "openai", True)]


def script_tool_loop(fake: FakeOpenAI, *, streamed: bool) -> None:
    """Upstream answers: first the model calls ``weather``, then (given the result) it answers in text."""
    if streamed:
        fake.enqueue(Scripted(stream=tool_call_stream([("call_w1", "weather", ['{"city":', '"Paris"}'])]),
                              media_type="text/event-stream"),
                     Scripted(stream=text_stream(["It ", "is ", "21C ", "in ", "Paris."]),
                              media_type="text/event-stream"))
    else:
        fake.enqueue(Scripted(json=completion(None, tool_calls=[CALL], finish_reason="tool_calls")),
                     Scripted(json=completion(ANSWER)))


@pytest.mark.parametrize("streamed", [False, True], ids=["generateText", "streamText"])
@pytest.mark.parametrize("api", ["responses", "chat"])
def test_tool_call_is_executed_and_its_result_sent_back(gw: RunningGateway, fake_openai: FakeOpenAI, api: str,
                                                        streamed: bool) -> None:
    script_tool_loop(fake_openai, streamed=streamed)
    case = f"{api}_tool" + ("_stream" if streamed else "")
    outcome = ok(run_cases(gw, case), case)
    assert outcome["text"] == ANSWER and outcome.get("errors", []) == []
    assert outcome["executed"] == [{"city": "Paris"}]
    step1, step2 = outcome["steps"]
    assert step1 == {"finishReason": "tool-calls", "text": "",
                     "toolCalls": [{"id": "call_w1", "name": "weather", "input": {"city": "Paris"}}],
                     "toolResults": [{"id": "call_w1", "output": {"city": "Paris", "celsius": 21}}]}
    assert step2 == {"finishReason": "stop", "text": ANSWER, "toolCalls": [], "toolResults": []}
    if streamed:  # stream usage chunks carry no token details
        assert {k: outcome["totalUsage"][k] for k in ("input", "output", "total")} == \
            {"input": 22, "output": 12, "total": 34}
    else:
        assert outcome["totalUsage"] == usage(22, 14, cached=6, reasoning=4)

    # What the SDK sent the gateway: the tool definition, then the call and its output in the second request.
    sent1, sent2 = (s["body"] for s in outcome["sent"])
    if api == "responses":
        assert [s["path"] for s in outcome["sent"]] == ["/v1/responses"] * 2
        assert [t["name"] for t in sent1["tools"]] == ["weather"] and sent1["tools"][0]["type"] == "function"
        assert sent2["input"][1:] == [
            {"type": "function_call", "call_id": "call_w1", "name": "weather", "arguments": TOOL_ARGS},
            {"type": "function_call_output", "call_id": "call_w1", "output": TOOL_OUTPUT}]
    else:
        assert [s["path"] for s in outcome["sent"]] == ["/v1/chat/completions"] * 2
        assert sent2["messages"][1:] == [
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_w1", "content": TOOL_OUTPUT}]

    # What the upstream received: the function tool, then the assistant tool call and the tool result message.
    first, second = fake_openai.requests
    for request in (first, second):
        [tool] = request.body["tools"]
        assert tool["type"] == "function" and tool["function"]["name"] == "weather"
        assert tool["function"]["description"] == "Current weather for a city"
        assert tool["function"]["parameters"]["properties"] == {"city": {"type": "string", "description": "City name"}}
        assert tool["function"]["parameters"]["required"] == ["city"]
        assert request.body["tool_choice"] == "auto" and request.body.get("stream", False) is streamed
    assert first.body["messages"] == [{"role": "user", "content": "weather in Paris?"}]
    assert second.body["messages"] == [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_w1", "content": TOOL_OUTPUT}]
    endpoint = "responses" if api == "responses" else "chat.completions"
    assert endpoints(gw) == [(endpoint, "openai", streamed)] * 2


def test_responses_tool_call_after_text_refers_to_the_stored_message(gw: RunningGateway,
                                                                      fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Scripted(json=completion("Let me check.", tool_calls=[CALL], finish_reason="tool_calls")),
                        Scripted(json=completion(ANSWER)))
    result = run_cases(gw, "responses_tool_after_text")
    sent2 = result["responses_tool_after_text"]["sent"][1]["body"]
    reference = sent2["input"][1]
    assert reference["type"] == "item_reference" and reference["id"].startswith("msg_")
    outcome = ok(result, "responses_tool_after_text")
    assert outcome["text"] == ANSWER and outcome["executed"] == [{"city": "Paris"}]
    assert fake_openai.requests[1].body["messages"][1:] == [
        {"role": "assistant", "content": "Let me check.", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_w1", "content": TOOL_OUTPUT}]


def test_embed_many(gw: RunningGateway, fake_openai: FakeOpenAI) -> None:
    outcome = ok(run_cases(gw, "embed_many"), "embed_many")
    assert outcome["sizes"] == [8, 8, 8] and outcome["tokens"] == 3
    assert outcome["first"] == pytest.approx(fake_vector("a", 8)[:2], rel=1e-6)
    [sent] = outcome["sent"]
    assert sent["path"] == "/v1/embeddings" and sent["body"]["model"] == "openai/text-embedding-3-small"
    [upstream] = fake_openai.requests
    assert upstream.path == "/v1/embeddings"
    assert upstream.body["model"] == "text-embedding-3-small" and upstream.body["input"] == ["a", "b", "c"]
    assert endpoints(gw) == [("embeddings", "openai", False)]
