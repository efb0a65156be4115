"""Mistral AI (La Plateforme): chat, streaming, tools, embeddings, verification.

Reference: Mistral AI API reference (https://docs.mistral.ai/api/). The caller
speaks Mistral's own API with its differences from OpenAI (see ``request.py``,
``response.py`` and ``stream.py``); ``MISTRAL_BASE_URL`` is the server URL
(default ``https://api.mistral.ai``), endpoints are under ``/v1/``.
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, ProviderSpec
from gateway.callers.mistral.embedding import EMBEDDING_PARAMETERS, MistralEmbeddingCaller
from gateway.callers.mistral.llm import MistralLargeLanguageCaller
from gateway.callers.mistral.models import MistralModelLister
from gateway.callers.mistral.request import CHAT_PARAMETERS
from gateway.callers.mistral.verify_credential import MistralVerifier
from gateway.callers.mistral.wire import NAME, MistralWire, mistral_wire


def _wire(ctx: CallerContext) -> MistralWire:
    return mistral_wire(ctx.credential)


PROVIDERS = (
    ProviderSpec(
        name=NAME,
        description="Mistral AI chat completions and embeddings",
        credential_env={"key": "MISTRAL_API_KEY", "base_url": "MISTRAL_BASE_URL"},
        required_credentials=("key",),
        llm=lambda ctx: MistralLargeLanguageCaller(ctx, _wire(ctx)),
        embedding=lambda ctx: MistralEmbeddingCaller(ctx, _wire(ctx)),
        verifier=lambda ctx: MistralVerifier(ctx, _wire(ctx)),
        models=lambda ctx: MistralModelLister(ctx, _wire(ctx)),
        chat_parameters=CHAT_PARAMETERS,
        embedding_parameters=EMBEDDING_PARAMETERS,
    ),
)
