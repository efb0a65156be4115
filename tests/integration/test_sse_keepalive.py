"""Streams through proxies: ``: ping`` keep-alive comments while a model thinks, SSE headers, the SDK
still parsing the stream, errors before and after the response started, and a client that leaves."""

from __future__ import annotations

import time
from typing import Any

import pytest
from openai import OpenAI

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, openai_error, text_stream
from tests.fakes.server import Scripted

BODY: dict[str, Any] = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],
                        "stream": True}
PING_SECONDS = 0.2


def gateway_for(gateway_factory: GatewayFactory, fake: FakeOpenAI, ping: float = PING_SECONDS) -> RunningGateway:
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"},
                           sse_ping_seconds=ping)


def thinking(seconds: float) -> Scripted:
    return Scripted(stream=text_stream(["Hello ", "there"]), media_type="text/event-stream", delay=seconds)


def wait_for_status(gw: RunningGateway, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in gw.records() if r["request_id"] == request_id]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no record for {request_id}")


def test_pings_flow_while_the_first_token_is_awaited(gateway_factory: GatewayFactory,
                                                     fake_openai: FakeOpenAI) -> None:
    gw = gateway_for(gateway_factory, fake_openai)
    fake_openai.enqueue(thinking(4 * PING_SECONDS))
    with gw.http.stream("POST", "/v1/chat/completions", json=BODY) as response:
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert response.headers["content-type"].startswith("text/event-stream")
        body = response.read().decode()
    head, _, rest = body.partition("data: ")
    assert head.count(": ping\n\n") >= 2 and head.replace(": ping\n\n", "") == ""
    assert "Hello" in rest and body.endswith("data: [DONE]\n\n")


def test_a_prompt_first_event_goes_out_without_a_ping(gateway_factory: GatewayFactory,
                                                      fake_openai: FakeOpenAI) -> None:
    gw = gateway_for(gateway_factory, fake_openai, ping=5.0)
    body = gw.http.post("/v1/chat/completions", json=BODY).text
    assert body.startswith("data: ") and ": ping" not in body


def test_the_sdk_parses_a_stream_with_pings(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = gateway_for(gateway_factory, fake_openai)
    fake_openai.enqueue(thinking(3 * PING_SECONDS))
    client = OpenAI(base_url=gw.url + "/v1", api_key="anything", max_retries=0)
    stream = client.chat.completions.create(model="openai/gpt-4o-mini", messages=BODY["messages"], stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Hello there"


def test_an_error_within_the_first_wait_is_a_real_http_error(gateway_factory: GatewayFactory,
                                                              fake_openai: FakeOpenAI) -> None:
    gw = gateway_for(gateway_factory, fake_openai, ping=5.0)
    fake_openai.enqueue(openai_error(400, "bad request", "invalid_request_error"))
    response = gw.http.post("/v1/chat/completions", json=BODY)
    assert response.status_code == 400 and response.json()["error"]["message"].endswith("bad request")


def test_an_error_after_pings_is_in_band(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = gateway_for(gateway_factory, fake_openai)
    failing = openai_error(400, "bad request", "invalid_request_error")
    failing.delay = 3 * PING_SECONDS
    fake_openai.enqueue(failing)
    response = gw.http.post("/v1/chat/completions", json=BODY, headers={"x-request-id": "late-error"})
    assert response.status_code == 200
    assert response.text.startswith(": ping\n\n") and "bad request\"" in response.text
    record = wait_for_status(gw, "late-error")
    assert (record["status"], record["http_status"]) == ("FAILED", 400)


@pytest.mark.parametrize("ping", [0.0, PING_SECONDS])
def test_a_client_leaving_while_the_model_thinks_closes_the_upstream(gateway_factory: GatewayFactory,
                                                                     fake_openai: FakeOpenAI, ping: float) -> None:
    gw = gateway_for(gateway_factory, fake_openai, ping=ping)
    fake_openai.enqueue(Scripted(stream=text_stream(["a ", "b ", "c"]), media_type="text/event-stream",
                                 delay=2 * PING_SECONDS, gap=3.0))
    with gw.http.stream("POST", "/v1/chat/completions", json=BODY, headers={"x-request-id": "gone"}) as response:
        next(response.iter_raw())
    record = wait_for_status(gw, "gone")
    assert record["status"] == "CANCELLED"
    deadline = time.monotonic() + 2
    while fake_openai.closed_streams < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake_openai.closed_streams == 1


def test_pings_can_be_turned_off(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = gateway_for(gateway_factory, fake_openai, ping=0.0)
    fake_openai.enqueue(thinking(3 * PING_SECONDS))
    body = gw.http.post("/v1/chat/completions", json=BODY).text
    assert body.startswith("data: ") and ": ping" not in body and body.endswith("data: [DONE]\n\n")


def test_pings_flow_while_the_model_pauses_mid_stream(gateway_factory: GatewayFactory,
                                                      fake_openai: FakeOpenAI) -> None:
    gw = gateway_for(gateway_factory, fake_openai)
    fake_openai.enqueue(Scripted(stream=text_stream(["Hello ", "there"]), media_type="text/event-stream",
                                 gap=3 * PING_SECONDS))
    body = gw.http.post("/v1/chat/completions", json=BODY).text
    assert body.endswith("data: [DONE]\n\n")
    after_first = body[body.index("data: "):]
    assert "Hello" in after_first.partition(": ping")[0] and "there" in after_first.partition(": ping")[2]
    frames = [frame for frame in body.split("\n\n") if frame]
    assert all(frame == ": ping" or frame.startswith("data: ") for frame in frames)
