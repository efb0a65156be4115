"""Pure tests of the Azure URL layouts and auth header (no network)."""

from __future__ import annotations

import pytest

from gateway.callers.azure import PROVIDERS
from gateway.callers.azure.wire import DEFAULT_API_VERSION, azure_wire
from gateway.callers.base import Credential
from gateway.core import params as p
from gateway.errors import AuthenticationError

RESOURCE = "https://myres.openai.azure.com"


@pytest.mark.parametrize("endpoint", [RESOURCE, RESOURCE + "/", RESOURCE + "/openai", RESOURCE + "/openai/"])
def test_deployments_form_puts_the_model_in_the_path_and_the_version_in_the_query(endpoint: str) -> None:
    wire = azure_wire(Credential({"subscription_key": "k", "endpoint": endpoint}))
    assert wire.url("chat/completions", "gpt-4o") == RESOURCE + "/openai/deployments/gpt-4o/chat/completions"
    assert wire.url("embeddings", "te-3") == RESOURCE + "/openai/deployments/te-3/embeddings"
    assert wire.url("models") == RESOURCE + "/openai/models"
    assert wire.query == {"api-version": DEFAULT_API_VERSION} and DEFAULT_API_VERSION == "2024-10-21"


def test_a_deployment_name_is_escaped_as_one_path_segment() -> None:
    wire = azure_wire(Credential({"subscription_key": "k", "endpoint": RESOURCE}))
    assert wire.url("chat/completions", "my dep/x") == RESOURCE + "/openai/deployments/my%20dep%2Fx/chat/completions"


def test_an_explicit_api_version_is_sent() -> None:
    wire = azure_wire(Credential({"subscription_key": "k", "endpoint": RESOURCE, "api_version": "2025-04-01-preview"}))
    assert wire.query == {"api-version": "2025-04-01-preview"}


@pytest.mark.parametrize("values", [
    {"endpoint": RESOURCE, "api_version": "v1"},
    {"endpoint": RESOURCE + "/openai/v1"},
    {"endpoint": RESOURCE + "/openai/v1/", "api_version": "2024-10-21"},
])
def test_v1_form_keeps_the_model_in_the_body_and_sends_no_api_version(values: dict[str, str]) -> None:
    wire = azure_wire(Credential({"subscription_key": "k", **values}))
    assert wire.url("chat/completions", "gpt-4o") == RESOURCE + "/openai/v1/chat/completions"
    assert wire.url("models") == RESOURCE + "/openai/v1/models"
    assert dict(wire.query) == {}
    assert wire.quirks.developer_role


def test_auth_is_the_api_key_header_not_bearer_and_the_repr_hides_it() -> None:
    wire = azure_wire(Credential({"subscription_key": "secret-key", "endpoint": RESOURCE}))
    assert dict(wire.headers) == {"api-key": "secret-key"}
    assert "secret-key" not in repr(wire)


def test_base_url_overrides_endpoint() -> None:
    wire = azure_wire(Credential({"subscription_key": "k", "endpoint": RESOURCE, "base_url": "http://127.0.0.1:9"}))
    assert wire.url("models") == "http://127.0.0.1:9/openai/models"


@pytest.mark.parametrize("values", [{"endpoint": RESOURCE}, {"subscription_key": "k"}])
def test_missing_key_or_endpoint_is_a_clear_credential_error(values: dict[str, str]) -> None:
    with pytest.raises(AuthenticationError) as caught:
        azure_wire(Credential(values))
    assert caught.value.code == "missing_provider_credential"


def test_the_spec_declares_the_azure_environment_and_parameters() -> None:
    spec = PROVIDERS[0]
    assert spec.name == "azure"
    assert dict(spec.credential_env) == {"subscription_key": "AZURE_OPENAI_API_KEY",
                                         "endpoint": "AZURE_OPENAI_ENDPOINT",
                                         "api_version": "AZURE_OPENAI_API_VERSION", "base_url": "AZURE_BASE_URL",
                                         "responses_api": "AZURE_OPENAI_RESPONSES_API"}
    assert p.SERVICE_TIER not in spec.chat_parameters
    assert {p.MAX_COMPLETION_TOKENS, p.RESPONSE_FORMAT, p.TOOL_CHOICE, p.REASONING_EFFORT} <= spec.chat_parameters
    assert p.DIMENSIONS in spec.embedding_parameters
    assert spec.capabilities.as_dict() == {"chat": True, "stream": True, "tools": True, "embeddings": True,
                                           "rerank": False, "verify": True}
