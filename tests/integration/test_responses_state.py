"""Stored responses: retrieve, delete, input items, ``previous_response_id`` across gateway processes
sharing one database, ``store: false``, and visibility per gateway key."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types.responses import Response, ResponseFunctionToolCall

from tests.conftest import GatewayFactory, RunningGateway, translated_responses_env
from tests.fakes.openai_fake import FakeOpenAI
from tests.openapi import assert_valid

MODEL = "openai/gpt-4o-mini"
MASTER = "master-key-for-responses"
WEATHER: Any = {"type": "function", "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def client(gw: RunningGateway, key: str = "anything") -> OpenAI:
    return OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0)


def upstream(fake: FakeOpenAI) -> dict[str, str]:
    return translated_responses_env(fake)


@pytest.fixture
def gateway(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    """The ``openai`` provider at the fake, serving ``/v1/responses`` by translation."""
    return gateway_factory(env=upstream(fake_openai))


@pytest.mark.parametrize("stream", [False, True])
def test_retrieve_list_items_and_delete(gateway: RunningGateway, stream: bool) -> None:
    sdk = client(gateway)
    created: Response
    if stream:
        with sdk.responses.stream(model=MODEL, input="hello there", instructions="be kind") as events:
            created = events.get_final_response()
    else:
        created = sdk.responses.create(model=MODEL, input="hello there", instructions="be kind")
    fetched = gateway.http.get(f"/v1/responses/{created.id}")
    assert fetched.status_code == 200
    assert_valid("Response", fetched.json())
    again = sdk.responses.retrieve(created.id)
    assert again.output_text == "echo: hello there" and again.id == created.id
    listed = gateway.http.get(f"/v1/responses/{created.id}/input_items").json()
    assert_valid("ResponseItemList", listed)
    [item] = listed["data"]
    assert item["role"] == "user" and item["content"] == [{"type": "input_text", "text": "hello there"}]
    assert listed["first_id"] == listed["last_id"] == item["id"] and listed["has_more"] is False
    assert [i.id for i in sdk.responses.input_items.list(created.id)] == [item["id"]]
    deleted = gateway.http.delete(f"/v1/responses/{created.id}")
    assert deleted.json() == {"id": created.id, "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.delete(created.id)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_previous_response_id_across_two_gateways(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                                  request: pytest.FixtureRequest, database: str) -> None:
    """The second gateway shares only the database with the first, which is stopped first."""
    shared = {"database_url": request.getfixturevalue("postgres_url")} if database == "postgres" else {}
    first_gateway = gateway_factory(env=upstream(fake_openai), **shared)
    call = client(first_gateway).responses.create(model=MODEL, input="weather in Paris?", tools=[WEATHER],
                                                  tool_choice={"type": "function", "name": "get_weather"})
    first_gateway.stop()
    second_gateway = gateway_factory(env=upstream(fake_openai), **shared)
    sdk = client(second_gateway)
    function_call = call.output[0]
    assert isinstance(function_call, ResponseFunctionToolCall)
    answer = sdk.responses.create(model=MODEL, previous_response_id=call.id, tools=[WEATHER], input=[
        {"type": "function_call_output", "call_id": function_call.call_id, "output": "sunny"}])
    assert fake_openai.last.body["messages"] == [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]
    assert answer.previous_response_id == call.id
    sdk.responses.create(model=MODEL, previous_response_id=answer.id, input="thanks")
    messages = fake_openai.last.body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "user"]
    assert messages[3] == {"role": "assistant", "content": "echo: weather in Paris?"}
    items = second_gateway.http.get(f"/v1/responses/{answer.id}/input_items", params={"order": "asc"}).json()
    assert_valid("ResponseItemList", items)
    assert [i["type"] for i in items["data"]] == ["message", "function_call", "function_call_output"]
    page = second_gateway.http.get(f"/v1/responses/{answer.id}/input_items",
                                   params={"limit": 1, "after": items["data"][0]["id"], "order": "asc"}).json()
    assert [i["type"] for i in page["data"]] == ["function_call"] and page["has_more"] is True


def test_store_false_and_unknown_previous_response(gateway: RunningGateway) -> None:
    sdk = client(gateway)
    unstored = sdk.responses.create(model=MODEL, input="x", store=False)
    assert unstored.store is False  # type: ignore[attr-defined]  # returned, but not in openai's Response type
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(unstored.id)
    response = gateway.http.post("/v1/responses", json={"model": MODEL, "input": "x",
                                                        "previous_response_id": "resp_nope"})
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "previous_response_id"
    assert response.json()["error"]["type"] == "not_found_error"


def test_a_stored_response_is_visible_only_to_its_key(gateway_factory: GatewayFactory,
                                                      fake_openai: FakeOpenAI) -> None:
    gw = gateway_factory(env=upstream(fake_openai), master_key=MASTER)
    master = {"authorization": f"Bearer {MASTER}"}
    keys = [gw.http.post("/v1/keys", json={"name": n}, headers=master).json()["key"] for n in ("a", "b")]
    mine = client(gw, keys[0]).responses.create(model=MODEL, input="secret")
    assert client(gw, keys[0]).responses.retrieve(mine.id).id == mine.id
    assert client(gw, MASTER).responses.retrieve(mine.id).id == mine.id
    other = client(gw, keys[1])
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.input_items.list(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model=MODEL, input="x", previous_response_id=mine.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(mine.id)
    assert client(gw, keys[0]).responses.retrieve(mine.id).id == mine.id


def test_item_references_resolve_to_stored_items(gateway: RunningGateway, fake_openai: FakeOpenAI) -> None:
    """Clients replaying an earlier answer by id (the Vercel AI SDK with store on) send an
    ``item_reference``: the stored item takes its place; an unknown id is a 404 naming it."""
    first = gateway.http.post("/v1/responses", json={"model": MODEL, "input": "hi"}).json()
    message_id = first["output"][0]["id"]
    user: Any = {"role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    again = {"role": "user", "content": [{"type": "input_text", "text": "again"}]}
    response = gateway.http.post("/v1/responses", json={"model": MODEL, "input": [
        user, {"type": "item_reference", "id": message_id}, again]})
    assert response.status_code == 200, response.text
    assert fake_openai.last.body["messages"] == [{"role": "user", "content": "hi"},
                                                 {"role": "assistant", "content": "echo: hi"},
                                                 {"role": "user", "content": "again"}]
    listed = gateway.http.get(f"/v1/responses/{response.json()['id']}/input_items", params={"order": "asc"}).json()
    assert [item["type"] for item in listed["data"]] == ["message", "message", "message"]
    missing = gateway.http.post("/v1/responses", json={"model": MODEL, "input": [
        user, {"type": "item_reference", "id": "msg_unknown"}]})
    assert missing.status_code == 404
    assert missing.json()["error"]["param"] == "input[1].id"
