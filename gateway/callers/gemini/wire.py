"""Where and how to reach a Gemini-format API (``generateContent`` and friends).

The Gemini callers take a ``GeminiEndpoint``. The Gemini API authenticates with
an API key header and serves ``/v1beta/models/{model}:{method}``; Vertex AI uses
an OAuth bearer token and project/location paths, so it supplies its own endpoint
and reuses every translation module of this package.

Reference: Gemini API reference, "API versions" and "Authentication"
(``x-goog-api-key`` header), https://ai.google.dev/api.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from gateway.callers.base import Credential
from gateway.callers.http import join_url
from gateway.callers.paths import invalid_name, segments

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
RESOURCE_COLLECTIONS = ("models", "tunedModels")
"""The collections whose members serve ``generateContent`` and friends (API reference,
``models.generateContent``: ``model`` is ``models/{model}`` or ``tunedModels/{model}``)."""


@dataclass(frozen=True, slots=True)
class Quirks:
    """Differences between the servers that speak the Gemini format.

    ``file_uri_schemes``: image URL prefixes sent as ``fileData{fileUri}`` (the
    Gemini API reads no remote URLs, Vertex AI reads ``gs://`` objects); any other
    non-``data:`` URL is refused with a 400.
    """

    file_uri_schemes: tuple[str, ...] = ()


class GeminiEndpoint(Protocol):
    @property
    def provider(self) -> str: ...

    @property
    def quirks(self) -> Quirks: ...

    def model_url(self, model: str, method: str) -> str:
        """The URL of ``method`` (``generateContent``, ...) on ``model``."""
        ...

    async def headers(self) -> Mapping[str, str]:
        """Authentication headers; may fetch (and cache) a token first. Callers
        await this before ``model_url``, so an endpoint may resolve lazily here."""
        ...


def _resource_parts(model: str, provider: str) -> tuple[str, str, str]:
    """``(collection, id, id as a path segment)``; raises ``InvalidRequestError`` (param ``model``)."""
    escaped = segments(model, provider, most=2)
    collection, slash, name = model.partition("/")
    if not slash:
        return "models", model, escaped
    if collection not in RESOURCE_COLLECTIONS:
        raise invalid_name(model, provider, "use a model id or a resource name, 'models/<id>' or 'tunedModels/<id>'")
    return collection, name, escaped.partition("/")[2]


def model_resource(model: str, provider: str) -> str:
    """The resource name for ``model`` as request bodies carry it: ``models/{model}``, or the
    name itself when it already is one (``tunedModels/x``). Raises ``InvalidRequestError``
    (param ``model``) for any other ``/``-path and for an empty, ``.`` or ``..`` id."""
    collection, name, _ = _resource_parts(model, provider)
    return f"{collection}/{name}"


def model_path(model: str, provider: str) -> str:
    """``model_resource`` as a URL path: the id percent-encoded as one segment
    (``gateway.callers.paths.segments``)."""
    collection, _, escaped = _resource_parts(model, provider)
    return f"{collection}/{escaped}"


@dataclass(frozen=True, slots=True)
class ApiKeyEndpoint:
    """The Gemini API: ``{base}/v1beta/models/{model}:{method}`` with ``x-goog-api-key``."""

    provider: str
    base_url: str
    key: str
    quirks: Quirks = field(default_factory=Quirks)

    def url(self, path: str) -> str:
        return join_url(self.base_url, f"{API_VERSION}/{path}")

    def model_url(self, model: str, method: str) -> str:
        return self.url(f"{model_path(model, self.provider)}:{method}")

    async def headers(self) -> Mapping[str, str]:
        return {"x-goog-api-key": self.key}


def api_key_endpoint(provider: str, credential: Credential) -> ApiKeyEndpoint:
    return ApiKeyEndpoint(
        provider=provider,
        base_url=credential.get("base_url") or DEFAULT_BASE_URL,
        key=credential.require("key", provider),
    )
