"""``POST /v1/credentials/verify`` never sends a configured secret to a destination from the
request, never reads a local file named in the request, and refuses non-http(s) URLs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI

MASTER = "master-key-for-verify-tests"
AUTH = {"authorization": f"Bearer {MASTER}"}


@pytest.fixture
def capture() -> Iterator[FakeOpenAI]:
    """A second OpenAI-shaped server standing in for a host the operator never named."""
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_openai: FakeOpenAI) -> RunningGateway:
    return gateway_factory(env={"OPENAI_API_KEY": VALID_KEY, "OPENAI_BASE_URL": fake_openai.url + "/v1"},
                           master_key=MASTER)


def _verify(gw: RunningGateway, provider: str, credential: dict[str, str]) -> Any:
    return gw.http.post("/v1/credentials/verify", headers=AUTH,
                        json={"provider": provider, "credential": credential})


@pytest.mark.parametrize("destination", [{"base_url": "{capture}/v1"},
                                         {"base_url": "{capture}/v1", "organization": "o"}])
def test_a_destination_without_a_secret_is_refused_and_nothing_is_sent(
        gw: RunningGateway, capture: FakeOpenAI, fake_openai: FakeOpenAI, destination: dict[str, str]) -> None:
    credential = {k: v.format(capture=capture.url) for k, v in destination.items()}
    response = _verify(gw, "openai", credential)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "credential.base_url"
    assert capture.requests == []
    assert fake_openai.requests == []


def test_a_destination_with_its_own_secret_is_checked_alone(gw: RunningGateway, capture: FakeOpenAI) -> None:
    response = _verify(gw, "openai", {"base_url": capture.url + "/v1", "key": "sk-client-own"})
    assert response.status_code == 200
    assert response.json()["valid"] is False  # the capture server accepts only sk-test
    assert [r.headers["authorization"] for r in capture.requests] == ["Bearer sk-client-own"]


def test_a_secret_without_a_destination_goes_to_the_configured_host(
        gw: RunningGateway, capture: FakeOpenAI, fake_openai: FakeOpenAI) -> None:
    response = _verify(gw, "openai", {"key": VALID_KEY})
    assert response.status_code == 200 and response.json()["valid"] is True
    assert len(fake_openai.requests) == 1 and capture.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:1/x", "http://", "not a url", "//host/v1"])
def test_destination_urls_must_be_http_with_a_host(gw: RunningGateway, url: str) -> None:
    response = _verify(gw, "openai", {"base_url": url, "key": "sk-client-own"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "credential.base_url"


def test_an_azure_endpoint_alone_is_refused(gw: RunningGateway, capture: FakeOpenAI) -> None:
    response = _verify(gw, "azure", {"endpoint": capture.url})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "credential.endpoint"
    assert capture.requests == []


@pytest.mark.parametrize("path", ["/etc/hostname", "/no/such/file.json"])
def test_no_local_file_is_read_from_a_request(gw: RunningGateway, path: str) -> None:
    """The same 400 whether the file exists or not: the request learns nothing about local files."""
    response = _verify(gw, "vertexai", {"service_account_key": path, "project_id": "p"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "credential.service_account_key"
    assert path not in error["message"]
    assert "file path" in error["message"]


@pytest.mark.parametrize(("credential", "param"), [
    ({"key": "sk-\u00e9t\u00e9"}, "credential.key"),
    ({"key": "sk-line\nbreak"}, "credential.key"),
    ({"key": "sk-nul\u0000"}, "credential.key"),
    ({"endpoint": "http://x\u0000y", "subscription_key": "k"}, "credential.endpoint"),
])
def test_values_that_cannot_be_sent_are_a_400(gw: RunningGateway, credential: dict[str, str], param: str) -> None:
    provider = "azure" if "endpoint" in credential else "openai"
    response = _verify(gw, provider, credential)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize("body", [{"provider": "openai\u0000"}, {"provider": "x" * 65},
                                  {"provider": "openai", "credential": {"Bad Key": "v"}},
                                  {"provider": "openai", "credential": {f"k{i}": "v" for i in range(17)}}])
def test_malformed_verify_bodies_are_a_400(gw: RunningGateway, body: dict[str, Any]) -> None:
    response = gw.http.post("/v1/credentials/verify", headers=AUTH, json=body)
    assert response.status_code == 400, response.text
