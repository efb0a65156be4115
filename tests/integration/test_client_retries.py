"""Client retries do not multiply the gateway's: ``x-should-retry: false`` after gateway retries, and
retry back-off is not counted as the gateway's overhead; with the official openai SDK."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI, openai_error

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]


def gateway_for(gateway_factory: GatewayFactory, fake: FakeOpenAI, **settings: Any) -> RunningGateway:
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake.url + "/v1"}, **settings)


def counting_sdk(gw: RunningGateway, seen: list[httpx.Response], max_retries: int = 2) -> OpenAI:
    def keep(response: httpx.Response) -> None:
        seen.append(response)

    client = httpx.Client(event_hooks={"response": [keep]})
    # the SDK's annotation names its bundled httpx2.Client; it accepts an httpx.Client at run time too
    return OpenAI(base_url=gw.url + "/v1", api_key="anything", max_retries=max_retries,
                  http_client=client)  # type: ignore[arg-type]


@pytest.mark.parametrize("stream", [False, True])
def test_the_sdk_does_not_retry_what_the_gateway_retried(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI,
                                                         stream: bool) -> None:
    gw = gateway_for(gateway_factory, fake_openai, max_retries=2, retry_base_delay=0.01, retry_max_delay=1.0)
    fake_openai.enqueue(*[openai_error(503, "overloaded", "server_error")] * 3)
    seen: list[httpx.Response] = []
    with pytest.raises(openai.APIStatusError) as raised, counting_sdk(gw, seen) as sdk:
        sdk.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES, stream=stream)
    assert raised.value.status_code == 503
    assert len(seen) == 1 and seen[0].headers["x-should-retry"] == "false"
    assert len(fake_openai.requests) == 3


def test_without_gateway_retries_the_sdk_decides(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = gateway_for(gateway_factory, fake_openai, max_retries=0)
    fake_openai.enqueue(*[openai_error(503, "overloaded", "server_error", headers={"retry-after": "0"})] * 2)
    seen: list[httpx.Response] = []
    with pytest.raises(openai.APIStatusError), counting_sdk(gw, seen, max_retries=1) as sdk:
        sdk.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    assert len(seen) == 2 and "x-should-retry" not in seen[0].headers


def test_a_refused_request_carries_no_retry_verdict(gateway: RunningGateway) -> None:
    response = gateway.http.post("/v1/chat/completions", json={"model": "openai/gpt-4o-mini"})
    assert response.status_code == 400 and "x-should-retry" not in response.headers


def test_back_off_is_not_overhead(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> None:
    gw = gateway_for(gateway_factory, fake_openai, max_retries=2, retry_max_delay=2.0)
    fake_openai.enqueue(*[openai_error(503, "overloaded", "server_error", headers={"retry-after": "1"})] * 2)
    response = gw.http.post("/v1/chat/completions", json={"model": "openai/gpt-4o-mini", "messages": MESSAGES})
    assert response.status_code == 200 and len(fake_openai.requests) == 3
    assert "x-should-retry" not in response.headers
    assert float(response.headers["x-gateway-overhead-ms"]) < 1000
