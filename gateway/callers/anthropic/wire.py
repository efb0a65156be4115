"""Where and how to reach the Anthropic API: base URL and authentication headers.

Reference: Anthropic API docs, "Getting started" - every request carries the key in
``x-api-key`` and the API version in ``anthropic-version``; paths live under ``/v1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.callers.base import Credential
from gateway.callers.http import join_url

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
MESSAGES_PATH = "v1/messages"
COUNT_TOKENS_PATH = "v1/messages/count_tokens"
MODELS_PATH = "v1/models"


@dataclass(frozen=True, slots=True)
class AnthropicWire:
    provider: str
    base_url: str
    headers: Mapping[str, str]

    def url(self, path: str) -> str:
        """The URL of ``path`` (``v1/messages``, ``v1/models``) under the base URL."""
        return join_url(self.base_url, path)


def anthropic_wire(provider: str, credential: Credential) -> AnthropicWire:
    """The wire for ``credential``: ``key`` is required, ``base_url`` overrides the host.

    ``base_url`` is the host root without ``/v1`` (as ``ANTHROPIC_BASE_URL`` is for the
    official SDKs); a trailing ``/v1`` is tolerated and removed.
    """
    key = credential.require("key", provider)
    base = (credential.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    base = base.removesuffix("/v1")
    headers = {"x-api-key": key, "anthropic-version": API_VERSION}
    return AnthropicWire(provider=provider, base_url=base, headers=headers)
