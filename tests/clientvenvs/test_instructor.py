"""instructor (which pins ``jiter<0.15``, so it runs beside ``openai`` 2.x) against the gateway:
``instructor.from_openai(OpenAI(base_url=<gateway>/v1))`` extracting a pydantic ``User``.

The model is named ``openai/gpt-4o-mini`` (a bare name would make the gateway list the upstream's
models first, and that request would take the first scripted answer). Each test scripts the upstream's
answers in order.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.clientvenvs.conftest import ClientRunner
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, completion
from tests.fakes.server import Scripted

pytestmark = pytest.mark.clientvenvs

MODEL = "openai/gpt-4o-mini"
PROMPT = {"role": "user", "content": "Extract: ADA LOVELACE is 36 years old."}
ADA = {"name": "ADA LOVELACE", "age": 36}
LOWER_ADA = {"name": "Ada Lovelace", "age": 36}
"""Well-formed, but the ``User`` validator wants the name in capitals."""
FEEDBACK = "the name must be written in capitals"


def tool_call_answer(arguments: dict[str, Any], call_id: str) -> Scripted:
    call = {"id": call_id, "type": "function", "function": {"name": "User", "arguments": json.dumps(arguments)}}
    return Scripted(json=completion(None, tool_calls=[call], finish_reason="tool_calls"))


def json_answer(value: dict[str, Any]) -> Scripted:
    return Scripted(json=completion(json.dumps(value)))


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"})


def upstream_bodies(fake: FakeOpenAI) -> list[dict[str, Any]]:
    assert {r.path for r in fake.requests} <= {"/v1/chat/completions"}
    return [r.body for r in fake.requests]


def assert_records(gw: RunningGateway, count: int) -> None:
    records = gw.records()
    assert [(r["endpoint"], r["provider"], r["status"], r["http_status"], r["model_requested"]) for r in records] \
        == [("chat.completions", "openai", "SUCCESS", 200, MODEL)] * count


def test_tools_mode_extracts_the_model_from_the_tool_call(instructor: ClientRunner, gw: RunningGateway,
                                                          fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(tool_call_answer(ADA, "call_ada"))
    result = instructor(gw.url + "/v1", MODEL, "tools")
    assert result["openai"].startswith("2.") and result["instructor"] == "1.17.0"
    assert result["tools"] == {"user": ADA, "completion_id": result["tools"].get("completion_id"),
                               "finish_reason": "tool_calls"}, result["tools"].get("error")
    assert result["tools"]["completion_id"].startswith("chatcmpl-")

    [body] = upstream_bodies(fake_openai)
    assert body["model"] == "gpt-4o-mini" and body["messages"] == [PROMPT]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "User"}}
    [tool] = body["tools"]
    assert tool["type"] == "function" and tool["function"]["name"] == "User"
    assert tool["function"]["description"] == "A person named in the text."
    parameters = tool["function"]["parameters"]
    assert parameters["properties"]["age"]["type"] == "integer" and sorted(parameters["required"]) == ["age", "name"]
    assert "response_format" not in body
    assert_records(gw, 1)


def test_json_mode_extracts_the_model_from_the_json_content(instructor: ClientRunner, gw: RunningGateway,
                                                            fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(json_answer(ADA))
    result = instructor(gw.url + "/v1", MODEL, "json")
    assert result["json"].get("user") == ADA, result["json"].get("error")
    assert result["json"]["finish_reason"] == "stop"

    [body] = upstream_bodies(fake_openai)
    assert body["response_format"] == {"type": "json_object"}
    assert "tools" not in body and "tool_choice" not in body
    system, user = body["messages"]
    assert user == PROMPT and system["role"] == "system"
    assert '"title": "User"' in system["content"] and '"age"' in system["content"], "the schema, for the model"
    assert_records(gw, 1)


def test_json_mode_retry_reasks_with_the_validation_error(instructor: ClientRunner, gw: RunningGateway,
                                                          fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(json_answer(LOWER_ADA), json_answer(ADA))
    result = instructor(gw.url + "/v1", MODEL, "json_retry")
    assert result["json_retry"].get("user") == ADA, result["json_retry"].get("error")

    first, second = upstream_bodies(fake_openai)
    assert second["messages"][:2] == first["messages"]
    assistant, reask = second["messages"][2:]
    assert assistant == {"role": "assistant", "content": json.dumps(LOWER_ADA)}
    assert reask["role"] == "user" and FEEDBACK in reask["content"]
    assert FEEDBACK not in json.dumps(first)
    assert_records(gw, 2)


def test_tools_mode_retry_reasks_with_the_validation_error(instructor: ClientRunner, gw: RunningGateway,
                                                           fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(tool_call_answer(LOWER_ADA, "call_lower"), tool_call_answer(ADA, "call_ada"))
    result = instructor(gw.url + "/v1", MODEL, "retry")
    assert result["retry"].get("user") == ADA, result["retry"].get("error")

    first, second = upstream_bodies(fake_openai)
    assert second["messages"][0] == PROMPT and second["tools"] == first["tools"]
    assistant, tool_result = second["messages"][1:]
    assert assistant["role"] == "assistant"
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_lower"]
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == LOWER_ADA
    assert tool_result["role"] == "tool" and tool_result["tool_call_id"] == "call_lower"
    assert FEEDBACK in tool_result["content"]
    assert_records(gw, 2)
