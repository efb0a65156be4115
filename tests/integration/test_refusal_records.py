"""A record for every /v1/* request, also those refused before any provider call; finish reasons."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.api.refusals import DoorBudget, error_of
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, completion, tool_call_stream
from tests.fakes.server import Scripted

BODY: dict[str, Any] = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
MASTER = "sk-master-refusals"


def by_request_id(gw: RunningGateway) -> dict[str, dict[str, Any]]:
    return {r["request_id"]: r for r in gw.records()}


def test_refusals_before_the_service_leave_one_record_each(gateway_factory: GatewayFactory,
                                                           fake_openai: FakeOpenAI) -> None:
    gateway = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                              max_body_bytes=4096)
    json_type = {"content-type": "application/json"}
    refusals: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("POST", "/v1/chat/completions", {"json": {"model": "openai/gpt-4o-mini"}}, 400, "chat.completions"),
        ("POST", "/v1/chat/completions", {"content": b"{not json", "headers": json_type}, 400, "chat.completions"),
        ("POST", "/v1/chat/completions", {"content": b"x" * 8192, "headers": json_type}, 413, "chat.completions"),
        ("POST", "/v1/chat/completions", {"content": b"{}", "headers": {"content-type": "text/plain"}}, 415,
         "chat.completions"),
        ("GET", "/v1/chat/completions", {}, 405, "chat.completions"),
        ("POST", "/v1/no/such/endpoint", {"json": {}}, 404, "/v1/no/such/endpoint"),
        ("POST", "/v1/embeddings", {"json": {"model": "openai/text-embedding-3-small"}}, 400, "embeddings"),
    ]
    for i, (method, path, kwargs, status, _) in enumerate(refusals):
        headers = {**kwargs.pop("headers", {}), "x-request-id": f"refused-{i}"}
        response = gateway.http.request(method, path, headers=headers, **kwargs)
        assert response.status_code == status, (path, response.text)
    records = by_request_id(gateway)
    for i, (method, _, _, status, endpoint) in enumerate(refusals):
        record = records[f"refused-{i}"]
        assert (record["status"], record["http_status"], record["endpoint"]) == ("FAILED", status, endpoint)
        assert record["error_type"] == "invalid_request_error" or status == 404
        assert record["error_message"] and record["provider"] is None
        assert record["metadata"]["method"] == method
    assert len([r for r in records if r.startswith("refused-")]) == len(refusals)


def test_requests_the_service_took_are_not_recorded_twice(gateway: RunningGateway) -> None:
    unknown = gateway.http.post("/v1/chat/completions", json={**BODY, "model": "nope/model"},
                                headers={"x-request-id": "svc-unknown"})
    assert unknown.status_code in (400, 404)
    ok = gateway.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "svc-ok"})
    assert ok.status_code == 200
    records = gateway.records()
    assert [r["request_id"] for r in records].count("svc-unknown") == 1
    assert [r["request_id"] for r in records].count("svc-ok") == 1


def test_unauthenticated_requests_leave_no_record(gateway_factory: GatewayFactory) -> None:
    gw = gateway_factory(master_key=MASTER)
    for i in range(5):
        response = gw.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": f"anon-{i}"})
        assert response.status_code == 401
    assert gw.records() == []


def test_a_key_over_its_rate_is_recorded_at_the_door(gateway_factory: GatewayFactory,
                                                     fake_openai: FakeOpenAI) -> None:
    gw = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                         master_key=MASTER)
    created = gw.http.post("/v1/keys", json={"name": "slow", "rpm": 1},
                           headers={"authorization": f"Bearer {MASTER}"})
    assert created.status_code == 201
    headers = {"authorization": f"Bearer {created.json()['key']}"}
    codes = [gw.http.post("/v1/chat/completions", json=BODY, headers={**headers, "x-request-id": f"rpm-{i}"})
             .status_code for i in range(3)]
    assert codes == [200, 429, 429]
    records = by_request_id(gw)
    assert [records[f"rpm-{i}"]["http_status"] for i in range(3)] == [200, 429, 429]
    assert records["rpm-1"]["error_type"] == "rate_limit_error" and records["rpm-1"]["endpoint"] == "chat.completions"


def test_door_budget_counts_what_it_leaves_out() -> None:
    now = [0.0]
    budget = DoorBudget(2, clock=lambda: now[0])
    assert [budget.take(), budget.take(), budget.take(), budget.take()] == [0, 0, None, None]
    now[0] = 61.0
    assert [budget.take(), budget.take()] == [2, 0]


def test_error_of_reads_the_envelope_and_nothing_else() -> None:
    assert error_of(b'{"error": {"message": "m", "type": "t"}}') == ("t", "m")
    assert error_of(b"not json") == (None, None)
    assert error_of(b"[1]") == (None, None)
    assert error_of(b'{"error": "text"}') == (None, None)


@pytest.mark.parametrize("stream", [False, True])
def test_records_keep_the_finish_reason(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                        stream: bool) -> None:
    gw = gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"})
    if stream:
        fake_openai.enqueue(Scripted(stream=tool_call_stream([("call_1", "f", ['{"a": 1}'])]),
                                     media_type="text/event-stream"))
    else:
        fake_openai.enqueue(Scripted(json=completion("cut", finish_reason="length")))
    response = gw.http.post("/v1/chat/completions", json={**BODY, "stream": stream},
                            headers={"x-request-id": "fin"})
    assert response.status_code == 200
    gw.http.post("/v1/chat/completions", json={"model": "openai/gpt-4o-mini"}, headers={"x-request-id": "fin-bad"})
    records = by_request_id(gw)
    assert records["fin"]["metadata"]["finish_reason"] == ("tool_calls" if stream else "length")
    assert "finish_reason" not in records["fin-bad"]["metadata"]
