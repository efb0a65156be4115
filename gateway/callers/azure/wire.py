"""Where and how to reach Azure OpenAI / AI Foundry: URL layout and ``api-key`` auth.

References (learn.microsoft.com):
- "Azure OpenAI REST API reference" (data plane): ``POST {endpoint}/openai/deployments/{deployment-id}/
  chat/completions?api-version=...`` (and ``/embeddings``), ``GET {endpoint}/openai/models?api-version=...``;
  the key goes in the ``api-key`` header (not ``Authorization: Bearer``).
- "Azure OpenAI API version lifecycle" (the v1 API): ``{endpoint}/openai/v1/chat/completions`` with the
  deployment name in the body's ``model`` and no dated ``api-version``.

Which layout is used is decided by the credential's data (``api_version`` and the endpoint's path), never
by a model or provider name.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.callers.base import Credential
from gateway.callers.http import join_url
from gateway.callers.openai.wire import OpenAIWire, Quirks
from gateway.callers.paths import segment
from gateway.errors import missing_credential

NAME = "azure"
DEFAULT_API_VERSION = "2024-10-21"
"""The latest dated GA data-plane version (the one "Models - List" documents); newer features: ``v1``."""
V1 = "v1"
_V1_SUFFIX = "/openai/v1"
_OPENAI_SUFFIX = "/openai"


@dataclass(frozen=True, slots=True, repr=False)
class AzureWire(OpenAIWire):
    """An ``OpenAIWire`` whose model-bound paths may live under ``deployments/{model}/``.

    ``per_deployment``: ``url("chat/completions", model)`` is
    ``{base_url}/deployments/{model}/chat/completions``, the deployment name percent-encoded as one
    segment (``gateway.callers.paths.segment``: ``.`` and ``..`` raise ``InvalidRequestError``); paths
    without a model (``models``) stay directly under ``base_url``.
    """

    per_deployment: bool = False

    def __repr__(self) -> str:
        """Names the header keys only: their values are secrets."""
        return f"AzureWire(provider={self.provider!r}, base_url={self.base_url!r}, headers={sorted(self.headers)!r})"

    def url(self, path: str, model: str | None = None) -> str:
        if self.per_deployment and model:
            return join_url(self.base_url, f"deployments/{segment(model, self.provider)}/{path.lstrip('/')}")
        return join_url(self.base_url, path)


@dataclass(frozen=True, slots=True)
class Layout:
    """The URL form an endpoint and API version select."""

    base_url: str
    query: dict[str, str]
    per_deployment: bool
    quirks: Quirks


def _resource_root(endpoint: str) -> str:
    root = endpoint.rstrip("/")
    return root.removesuffix(_V1_SUFFIX).removesuffix(_OPENAI_SUFFIX)


def layout(endpoint: str, api_version: str) -> Layout:
    """The v1 form when ``api_version`` is ``v1`` or the endpoint already ends with ``/openai/v1``;
    otherwise the deployments form with ``?api-version=``.

    Both forms accept ``stream_options.include_usage``, ``max_completion_tokens`` and ``dimensions``
    (GA 2024-10-21 and v1). The ``developer`` role exists only from 2024-12-01-preview on, so the dated
    form sends ``system`` (equivalent for every deployed model); the v1 API takes ``developer`` as is.
    """
    root = _resource_root(endpoint)
    if endpoint.rstrip("/").endswith(_V1_SUFFIX) or api_version == V1:
        return Layout(root + _V1_SUFFIX, {}, per_deployment=False, quirks=Quirks(developer_role=True))
    return Layout(root + _OPENAI_SUFFIX, {"api-version": api_version}, per_deployment=True,
                  quirks=Quirks(developer_role=False))


def azure_wire(credential: Credential, api_version: str | None = None) -> AzureWire:
    """The wire for ``credential``: ``subscription_key`` plus ``base_url`` or ``endpoint``; ``api_version``
    overrides the credential's (``v1``: the v1 API, where the Responses API lives).

    Raises ``AuthenticationError`` (``missing_provider_credential``) when the key or both URLs are missing.
    """
    key = credential.require("subscription_key", NAME)
    endpoint = credential.get("base_url") or credential.get("endpoint")
    if not endpoint:
        raise missing_credential(
            f"No 'endpoint' (or 'base_url') credential is configured for provider '{NAME}' "
            "(set AZURE_OPENAI_ENDPOINT, e.g. https://<resource>.openai.azure.com).", NAME)
    form = layout(endpoint, api_version or credential.get("api_version") or DEFAULT_API_VERSION)
    return AzureWire(
        provider=NAME,
        base_url=form.base_url,
        headers={"api-key": key},
        query=form.query,
        quirks=form.quirks,
        per_deployment=form.per_deployment,
    )
