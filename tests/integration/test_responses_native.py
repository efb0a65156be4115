"""``/v1/responses`` relayed natively to OpenAI-format upstreams that speak it (OpenAI, Azure's v1
API): the body goes out as the client sent it, the model aside; answers and streams come back as
the upstream sent them; stored responses are read and deleted where they live; a
``previous_response_id`` reaches the provider that holds it, and any other deployment gets the
conversation inlined.

The fake upstream is checked first with the official ``openai`` SDK as its client, and its bodies
and events against OpenAI's spec, so the relay is tested against the real format."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import orjson
import pytest
from openai import OpenAI
from openai.types.responses import WebSearchToolParam

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY
from tests.fakes.openai_responses import USAGE, FakeAzureResponses, FakeOpenAIResponses
from tests.fakes.server import Scripted, sse
from tests.integration.test_responses_stream import read_events
from tests.openapi import assert_valid

MODEL = "openai/gpt-4o-mini"
WEB_SEARCH: WebSearchToolParam = {"type": "web_search"}
WEATHER: Any = {"type": "function", "name": "get_weather", "strict": False,
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


@pytest.fixture
def fake() -> Iterator[FakeOpenAIResponses]:
    upstream = FakeOpenAIResponses().start()
    yield upstream
    upstream.stop()


def env(fake: FakeOpenAIResponses) -> dict[str, str]:
    return {"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}


@pytest.fixture
def gateway(gateway_factory: GatewayFactory, fake: FakeOpenAIResponses) -> RunningGateway:
    return gateway_factory(env=env(fake))


def sdk(base_url: str) -> OpenAI:
    return OpenAI(base_url=base_url, api_key=VALID_KEY, max_retries=0)


def test_the_fake_speaks_the_responses_format(fake: FakeOpenAIResponses) -> None:
    client = sdk(fake.url + "/v1")
    created = client.responses.create(model="gpt-4o-mini", input="hello there", tools=[WEB_SEARCH])
    assert created.output_text == "echo: hello there"
    assert [item.type for item in created.output] == ["web_search_call", "message"]
    assert_valid("Response", fake.stored[created.id][0])
    with client.responses.stream(model="gpt-4o-mini", input="streamed words") as stream:
        final = stream.get_final_response()
    assert final.output_text == "echo: streamed words" and final.usage is not None and final.usage.total_tokens == 13
    assert client.responses.retrieve(created.id).id == created.id
    assert [i.type for i in client.responses.input_items.list(created.id)] == ["message"]
    assert client.responses.input_tokens.count(model="gpt-4o-mini", input="a b c").input_tokens == 3
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_the_body_goes_out_as_sent_and_the_answer_comes_back_as_given(gateway: RunningGateway,
                                                                      fake: FakeOpenAIResponses) -> None:
    body = {"model": MODEL, "input": [{"role": "user", "content": [{"type": "input_text", "text": "find news"}]}],
            "tools": [WEB_SEARCH, WEATHER], "reasoning": {"effort": "low", "summary": "auto"},
            "include": ["web_search_call.action.sources", "reasoning.encrypted_content"], "store": True,
            "text": {"verbosity": "low"}, "truncation": "auto", "prompt_cache_key": "tenant-7",
            "metadata": {"team": "news"}}
    response = gateway.http.post("/v1/responses", json=body)
    assert response.status_code == 200, response.text
    sent = fake.last
    assert sent.path == "/v1/responses"
    assert sent.body == {**body, "model": "gpt-4o-mini"}
    answer = response.json()
    assert answer == fake.stored[answer["id"]][0]
    assert [item["type"] for item in answer["output"]] == ["web_search_call", "message"]
    assert_valid("Response", answer)
    [record] = gateway.records()
    assert (record["endpoint"], record["provider"], record["status"]) == ("responses", "openai", "SUCCESS")
    assert (record["input_tokens"], record["output_tokens"], record["total_tokens"]) == (9, 4, 13)


def test_the_stream_is_relayed_event_by_event(gateway: RunningGateway, fake: FakeOpenAIResponses) -> None:
    with gateway.http.stream("POST", "/v1/responses", json={"model": MODEL, "input": "one two three",
                                                             "stream": True}) as response:
        assert response.status_code == 200
        events = read_events(response.iter_lines())
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "echo: one two three"
    response_id = events[-1]["response"]["id"]
    assert response_id == events[0]["response"]["id"] and response_id in fake.stored
    [record] = gateway.records()
    assert (record["endpoint"], record["stream"], record["status"]) == ("responses", True, "SUCCESS")
    assert (record["input_tokens"], record["output_tokens"]) == (USAGE["input_tokens"], USAGE["output_tokens"])


def test_sdk_create_stream_retrieve_items_and_delete_through_the_gateway(gateway: RunningGateway,
                                                                         fake: FakeOpenAIResponses) -> None:
    client = sdk(gateway.url + "/v1")
    first = client.responses.create(model=MODEL, input="hello there", tools=[WEB_SEARCH])
    assert first.output_text == "echo: hello there"
    with client.responses.stream(model=MODEL, input="and then", previous_response_id=first.id) as stream:
        second = stream.get_final_response()
    assert fake.last.body["previous_response_id"] == first.id and fake.last.body["input"] == "and then"
    assert second.output_text == "echo: and then"
    fetched = client.responses.retrieve(second.id)
    assert fetched.id == second.id and fake.last.method == "GET" and fake.last.path == f"/v1/responses/{second.id}"
    items = list(client.responses.input_items.list(second.id, order="asc"))
    assert fake.last.query == {"order": "asc"} and [i.id for i in items] == [i["id"] for i in fake.stored[second.id][1]]
    client.responses.delete(second.id)
    assert second.id not in fake.stored
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(second.id)


def test_an_unknown_previous_response_is_a_404_naming_the_field(gateway: RunningGateway,
                                                                fake: FakeOpenAIResponses) -> None:
    response = gateway.http.post("/v1/responses", json={"model": MODEL, "input": "x",
                                                          "previous_response_id": "resp_nowhere"})
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "previous_response_id"
    assert not [r for r in fake.requests if r.path.endswith("/responses")]


def test_store_false_is_neither_kept_nor_retrievable(gateway: RunningGateway, fake: FakeOpenAIResponses) -> None:
    created = gateway.http.post("/v1/responses", json={"model": MODEL, "input": "x", "store": False}).json()
    assert created["store"] is False
    assert gateway.http.get(f"/v1/responses/{created['id']}").status_code == 404


CONFIG = """
models:
  - name: translated
    model: openai/gpt-4o-mini
    credential: {responses_api: translated}
  - name: relayed
    model: openai/gpt-4o-mini
"""


def test_a_conversation_moves_between_translated_and_relayed_deployments(gateway_factory: GatewayFactory,
                                                                         fake: FakeOpenAIResponses) -> None:
    gw = gateway_factory(env=env(fake), config=CONFIG)
    local = gw.http.post("/v1/responses", json={"model": "translated", "input": "first turn"}).json()
    assert fake.last.path == "/v1/chat/completions" and local["output"][0]["content"][0]["text"] == "echo: first turn"
    relayed = gw.http.post("/v1/responses", json={"model": "relayed", "input": "second turn",
                                                  "previous_response_id": local["id"]})
    assert relayed.status_code == 200, relayed.text
    sent = fake.last.body
    assert fake.last.path == "/v1/responses" and "previous_response_id" not in sent
    assert [(i.get("role"), i["content"][0]["text"]) for i in sent["input"][:2]] == [
        ("user", "first turn"), ("assistant", "echo: first turn")]
    assert sent["input"][2] == {"type": "message", "role": "user", "content": "second turn"}
    assert all("id" not in item for item in sent["input"])
    back = gw.http.post("/v1/responses", json={"model": "translated", "input": "third turn",
                                               "previous_response_id": relayed.json()["id"]})
    assert back.status_code == 200, back.text
    messages = fake.last.body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[3]["content"] == "echo: second turn" and messages[4]["content"] == "third turn"


def test_a_stream_that_breaks_off_ends_with_the_relays_response_failed(gateway: RunningGateway,
                                                                        fake: FakeOpenAIResponses) -> None:
    started = {"response": {"id": "resp_cut", "object": "response", "status": "in_progress", "output": []}}
    frames = sse([("response.created", {"type": "response.created", "sequence_number": 0, **started}),
                  ("response.in_progress", {"type": "response.in_progress", "sequence_number": 1, **started})],
                 named=True)
    fake.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    with gateway.http.stream("POST", "/v1/responses", json={"model": MODEL, "input": "x", "stream": True}) as response:
        lines = list(response.iter_lines())
    events = [orjson.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert [e["type"] for e in events] == ["response.created", "response.in_progress", "response.failed"]
    assert events[-1]["sequence_number"] == 2 and events[-1]["response"]["id"] == "resp_cut"
    assert "terminal event" in events[-1]["response"]["error"]["message"]
    [record] = gateway.records()
    assert record["status"] == "FAILED" and record["endpoint"] == "responses"
    assert gateway.http.get("/v1/responses/resp_cut").status_code == 404


def test_an_upstream_response_failed_is_relayed_and_recorded_as_a_failure(gateway: RunningGateway,
                                                                          fake: FakeOpenAIResponses) -> None:
    failed = {"id": "resp_f", "object": "response", "status": "failed", "output": [], "store": False,
              "error": {"code": "server_error", "message": "The model crashed."}}
    frames = sse([("response.created", {"type": "response.created", "sequence_number": 0,
                                        "response": {**failed, "status": "in_progress", "error": None}}),
                  ("response.failed", {"type": "response.failed", "sequence_number": 1, "response": failed})],
                 named=True)
    fake.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    with gateway.http.stream("POST", "/v1/responses", json={"model": MODEL, "input": "x", "stream": True}) as response:
        body = response.read()
    assert body == b"".join(frames)
    [record] = gateway.records()
    assert record["status"] == "FAILED" and "The model crashed." in (record["error_message"] or "")


def test_translated_mode_serves_the_same_request_through_chat(gateway_factory: GatewayFactory,
                                                              fake: FakeOpenAIResponses) -> None:
    gw = gateway_factory(env={**env(fake), "OPENAI_RESPONSES_API": "translated"})
    answer = gw.http.post("/v1/responses", json={"model": MODEL, "input": "hello"}).json()
    assert fake.last.path == "/v1/chat/completions" and answer["output"][0]["content"][0]["text"] == "echo: hello"
    refused = gw.http.post("/v1/responses", json={"model": MODEL, "input": "x", "tools": [WEB_SEARCH]})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "tools[0].type"


def test_a_bad_mode_is_a_400_naming_the_setting(gateway_factory: GatewayFactory, fake: FakeOpenAIResponses) -> None:
    gw = gateway_factory(env={**env(fake), "OPENAI_RESPONSES_API": "sometimes"})
    response = gw.http.post("/v1/responses", json={"model": MODEL, "input": "x"})
    assert response.status_code == 400 and "responses_api" in response.json()["error"]["message"]


def test_azure_relays_to_its_v1_api_whatever_layout_chat_uses(gateway_factory: GatewayFactory) -> None:
    azure = FakeAzureResponses().start()
    try:
        gw = gateway_factory(env={"AZURE_OPENAI_API_KEY": VALID_KEY, "AZURE_OPENAI_ENDPOINT": azure.url,
                                  "AZURE_OPENAI_API_VERSION": "2024-10-21"})
        client = sdk(gw.url + "/v1")
        created = client.responses.create(model="azure/my-deployment", input="hi azure", tools=[WEB_SEARCH])
        assert created.output_text == "echo: hi azure"
        assert azure.last.path == "/openai/v1/responses" and azure.last.query == {}
        assert azure.last.body["model"] == "my-deployment" and azure.last.headers["api-key"] == VALID_KEY
        assert client.responses.retrieve(created.id).id == created.id
        assert azure.last.path == f"/openai/v1/responses/{created.id}"
    finally:
        azure.stop()


def test_sequential_relayed_streams_reuse_one_upstream_connection(gateway: RunningGateway,
                                                                  fake: FakeOpenAIResponses) -> None:
    for n in range(4):
        with gateway.http.stream("POST", "/v1/responses",
                                 json={"model": MODEL, "input": f"turn {n}", "stream": True}) as response:
            assert response.status_code == 200
            response.read()
    ports = {r.client_port for r in fake.requests if r.path == "/v1/responses"}
    assert len([r for r in fake.requests if r.path == "/v1/responses"]) == 4 and len(ports) == 1
