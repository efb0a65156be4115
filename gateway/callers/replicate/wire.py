"""Where and how to reach Replicate's HTTP API: base URL, auth, model refs, errors.

Reference: Replicate HTTP API reference. Requests carry
``Authorization: Bearer <token>`` (older docs show ``Token <token>``; both are
accepted upstream, Bearer is the current form). Errors are problem details
(RFC 7807): ``{"title", "detail", "status"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.callers.base import Credential
from gateway.callers.http import ErrorInfo, join_url, parse_common_error
from gateway.callers.paths import segment
from gateway.errors import InvalidRequestError

NAME = "replicate"
DEFAULT_BASE_URL = "https://api.replicate.com"


@dataclass(frozen=True, slots=True)
class ModelRef:
    """``owner/name`` (an official model, run at its latest version) or ``owner/name:version``."""

    owner: str
    name: str
    version: str | None = None


def parse_model(model: str) -> ModelRef:
    ref, colon, version = model.partition(":")
    owner, slash, name = ref.partition("/")
    if not slash or not owner or not name or "/" in name or (colon and not version):
        raise InvalidRequestError(
            f"{NAME}: model '{model}' is not 'owner/name' or 'owner/name:version'.", param="model",
            code="model_not_found",
        )
    return ModelRef(owner, name, version or None)


@dataclass(frozen=True, slots=True)
class ReplicateWire:
    base_url: str
    headers: dict[str, str]

    def url(self, path: str) -> str:
        return join_url(self.base_url, path)

    def create_url(self, ref: ModelRef) -> str:
        """``POST /v1/predictions`` for a version, ``/v1/models/{owner}/{name}/predictions`` otherwise,
        ``owner`` and ``name`` each percent-encoded as one segment (``gateway.callers.paths.segment``;
        ``.`` and ``..`` raise ``InvalidRequestError``)."""
        if ref.version:
            return self.url("v1/predictions")
        return self.url(f"v1/models/{segment(ref.owner, NAME)}/{segment(ref.name, NAME)}/predictions")


def replicate_wire(credential: Credential) -> ReplicateWire:
    token = credential.require("key", NAME)
    return ReplicateWire(base_url=credential.get("base_url") or DEFAULT_BASE_URL,
                         headers={"authorization": f"Bearer {token}"})


def parse_replicate_error(body: Any) -> ErrorInfo | None:
    """Problem details: ``detail`` (or, failing that, ``title``) is the message."""
    if isinstance(body, dict):
        for key in ("detail", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return ErrorInfo(value)
    return parse_common_error(body)
