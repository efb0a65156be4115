"""``x-request-id`` appears exactly once on every response, errors included (an SDK that joins
repeated headers would otherwise report ``"req_x, req_x"``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI

MASTER = "master-key-for-request-id-tests"
HELLO = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                           master_key=MASTER)


@pytest.mark.parametrize(("method", "path", "body", "auth", "status"), [
    ("POST", "/v1/chat/completions", HELLO, True, 200),
    ("POST", "/v1/chat/completions", {**HELLO, "model": "nope/x"}, True, 404),
    ("POST", "/v1/chat/completions", {"model": "openai/gpt-4o-mini"}, True, 400),
    ("POST", "/v1/chat/completions", HELLO, False, 401),
    ("GET", "/v1/no-such-route", None, True, 404),
    ("GET", "/healthz", None, False, 200),
])
def test_one_request_id_per_response(gw: RunningGateway, method: str, path: str, body: Any, auth: bool,
                                     status: int) -> None:
    headers = {"authorization": f"Bearer {MASTER}", "x-request-id": "client-chosen-id"} if auth else {}
    response = gw.http.request(method, path, json=body, headers=headers)
    assert response.status_code == status, response.text
    ids = response.headers.get_list("x-request-id")
    assert len(ids) == 1, ids
    if auth:
        assert ids == ["client-chosen-id"]
