"""Where and how to reach Vertex AI: regional base URL, project/location paths, bearer token.

Reference: Vertex AI REST reference, ``projects.locations.publishers.models``
(``generateContent``, ``streamGenerateContent``, ``predict``) and "Service
endpoints": ``https://{region}-aiplatform.googleapis.com``, or
``https://aiplatform.googleapis.com`` for the ``global`` location.

Credential keys: ``service_account_key`` (JSON text or a file path),
``project_id`` (defaults to the key's own ``project_id``), ``region`` (default
``us-central1``), ``base_url`` (overrides the regional host). The key is parsed
lazily, on the first ``headers()`` call, so a broken key surfaces as an
``AuthenticationError`` where callers and the verifier can handle it.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from gateway.callers.base import CallerContext, Timeouts
from gateway.callers.gemini.wire import Quirks
from gateway.callers.http import join_url
from gateway.callers.paths import invalid_name, segments
from gateway.callers.vertexai.auth import TokenCache, access_token
from gateway.callers.vertexai.credentials import ServiceAccount, load_service_account
from gateway.errors import AuthenticationError

DEFAULT_REGION = "us-central1"
API_VERSION = "v1"
QUIRKS = Quirks(file_uri_schemes=("gs://",))


def model_path(model: str, provider: str) -> str:
    """The model's resource path under the location, each client-given part percent-encoded
    as one segment (``gateway.callers.paths.segments``): a bare id is a Google model,
    ``publishers/google/models/{id}``; ``publishers/{publisher}/models/{id}`` and
    ``endpoints/{id}`` (a deployed endpoint) are taken as given. Any other ``/``-path, and an
    empty, ``.`` or ``..`` part, raises ``InvalidRequestError`` (param ``model``)."""
    parts = segments(model, provider, most=4).split("/")
    if len(parts) == 1:
        return f"publishers/google/models/{parts[0]}"
    if (len(parts) == 4 and parts[0] == "publishers" and parts[2] == "models") or (
            len(parts) == 2 and parts[0] == "endpoints"):
        return "/".join(parts)
    raise invalid_name(model, provider, "use a model id, 'publishers/<publisher>/models/<id>' or 'endpoints/<id>'")


def default_base_url(region: str) -> str:
    return "https://aiplatform.googleapis.com" if region == "global" else f"https://{region}-aiplatform.googleapis.com"


class VertexEndpoint:
    """A ``GeminiEndpoint`` for one deployment's credential: the service account, read once, and
    its access tokens (``tokens``), cached for as long as the endpoint lives."""

    def __init__(self, provider: str, http: httpx.AsyncClient, timeouts: Timeouts, key: str,
                 project_id: str | None, region: str | None, base_url: str | None) -> None:
        self.provider = provider
        self.quirks = QUIRKS
        self.region = region or DEFAULT_REGION
        self.base_url = base_url or default_base_url(self.region)
        self._http = http
        self._timeouts = timeouts
        self._key = key
        self._project_id = project_id
        self._account: ServiceAccount | None = None
        self.tokens = TokenCache()

    def account(self) -> ServiceAccount:
        if self._account is None:
            self._account = load_service_account(self._key, self.provider)
        return self._account

    @property
    def project(self) -> str:
        project = self._project_id or self.account().project_id
        if not project:
            raise AuthenticationError(
                f"No 'project_id' credential is configured for provider '{self.provider}', and the service "
                "account key names none.", code="missing_provider_credential", provider=self.provider)
        return project

    def location_url(self, path: str) -> str:
        return join_url(self.base_url, f"{API_VERSION}/projects/{self.project}/locations/{self.region}/{path}")

    def model_url(self, model: str, method: str) -> str:
        return self.location_url(f"{model_path(model, self.provider)}:{method}")

    async def headers(self) -> Mapping[str, str]:
        token = await access_token(self._http, self.account(), self._timeouts, self.provider, self.tokens)
        return {"authorization": f"Bearer {token}"}


def vertex_endpoint(provider: str, ctx: CallerContext) -> VertexEndpoint:
    credential = ctx.credential
    return VertexEndpoint(
        provider=provider,
        http=ctx.http,
        timeouts=ctx.timeouts,
        key=credential.require("service_account_key", provider),
        project_id=credential.get("project_id"),
        region=credential.get("region"),
        base_url=credential.get("base_url"),
    )
