"""Where and how to reach an OpenAI-format API: base URL, auth headers, quirks.

The OpenAI caller classes take an ``OpenAIWire``; Azure and the
OpenAI-compatible presets reuse those classes with a different wire instead of
new code. Quirks are flags, not branches on a provider name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.callers.base import Credential
from gateway.callers.http import join_url

DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True, slots=True)
class Quirks:
    """Differences between servers that speak the OpenAI format.

    ``stream_usage``: accepts ``stream_options.include_usage``.
    ``max_tokens_field``: the only body field the server takes for the output-token limit;
    ``None``: it takes both, so the limit goes out under the name the client used
    (``max_tokens`` or ``max_completion_tokens``).
    ``completion_tokens_models``: model families (a name, or a name followed by ``-`` or ``.``)
    that take only ``max_completion_tokens``, whatever ``max_tokens_field`` says.
    ``developer_role``: accepts ``developer`` messages (else sent as ``system``).
    ``embedding_dimensions``: accepts ``dimensions`` on embeddings.
    ``message_name``: accepts ``name`` on messages (else it is left out).
    """

    stream_usage: bool = True
    max_tokens_field: str | None = "max_completion_tokens"
    completion_tokens_models: tuple[str, ...] = ()
    developer_role: bool = True
    embedding_dimensions: bool = True
    message_name: bool = True

    def limit_field(self, model: str, client_field: str) -> str:
        """The body field for the output-token limit of a request for ``model`` whose client
        named it ``client_field``."""
        family = model.removeprefix("ft:")
        if any(family == name or family.startswith((f"{name}-", f"{name}.")) for name in self.completion_tokens_models):
            return "max_completion_tokens"
        return self.max_tokens_field or client_field


REASONING_MODELS = ("o1", "o3", "o4", "gpt-5")
"""OpenAI's reasoning model families, which refuse ``max_tokens`` (Chat Completions reference:
``max_tokens`` "is not compatible with o-series models"; "Reasoning models" guide: use
``max_completion_tokens``; the gpt-5 family answers "Unsupported parameter: 'max_tokens'")."""

OPENAI_QUIRKS = Quirks(max_tokens_field=None, completion_tokens_models=REASONING_MODELS)
"""OpenAI itself, and the default for any server at ``OPENAI_BASE_URL``: both limit names are
accepted (``max_tokens`` is deprecated, not removed), except by the reasoning models."""


@dataclass(frozen=True, slots=True)
class OpenAIWire:
    provider: str
    base_url: str
    headers: Mapping[str, str] = field(repr=False)
    query: Mapping[str, str] = field(default_factory=dict)
    quirks: Quirks = field(default_factory=Quirks)

    def url(self, path: str, model: str | None = None) -> str:
        """The URL of ``path`` (``chat/completions``, ``embeddings``, ``models``)."""
        return join_url(self.base_url, path)


def bearer_wire(
    provider: str,
    credential: Credential,
    default_base_url: str = DEFAULT_BASE_URL,
    quirks: Quirks | None = None,
    key_required: bool = True,
) -> OpenAIWire:
    """A wire with ``Authorization: Bearer <key>`` auth (OpenAI and most compatibles);
    ``quirks`` defaults to ``OPENAI_QUIRKS``."""
    key = credential.require("key", provider) if key_required else credential.get("key")
    headers = {"authorization": f"Bearer {key}"} if key else {}
    organization = credential.get("organization")
    if organization:
        headers["openai-organization"] = organization
    return OpenAIWire(
        provider=provider,
        base_url=credential.get("base_url") or default_base_url,
        headers=headers,
        quirks=quirks or OPENAI_QUIRKS,
    )
