"""Azure OpenAI / AI Foundry: the OpenAI callers over an Azure wire.

The request and response bodies are OpenAI's (Azure documents the same
Chat Completions, Embeddings and error shapes, ``{"error": {...}}``, with
``finish_reason == "content_filter"`` and HTTP 400 ``error.code == "content_filter"``
for filtered prompts, which keep their status and code). Only the URL layout and
the ``api-key`` header differ: see ``wire.py``. ``/v1/responses`` is relayed to the v1 API's
``/openai/v1/responses`` (whatever layout chat uses) unless ``responses_api`` is ``translated``.
"""

from __future__ import annotations

from gateway.callers.azure.wire import NAME, V1, azure_wire
from gateway.callers.base import ProviderSpec
from gateway.callers.openai.completions import OpenAITextCompletionCaller
from gateway.callers.openai.embedding import EMBEDDING_PARAMETERS, OpenAIEmbeddingCaller
from gateway.callers.openai.llm import OpenAILargeLanguageCaller
from gateway.callers.openai.models import OpenAIModelLister
from gateway.callers.openai.request import CHAT_PARAMETERS
from gateway.callers.openai.responses import FORMAT as RESPONSES
from gateway.callers.openai.responses import MODE_KEY, native_factory
from gateway.callers.openai.verify_credential import OpenAIVerifier
from gateway.core import params as p

# Azure has no ``service_tier`` (its deployment type - Standard, Provisioned, Batch - plays that role).
AZURE_CHAT_PARAMETERS = CHAT_PARAMETERS - {p.SERVICE_TIER}

PROVIDERS = (
    ProviderSpec(
        name=NAME,
        description="Azure OpenAI / AI Foundry (deployment URLs with api-version, or the v1 API), api-key auth",
        credential_env={
            "subscription_key": "AZURE_OPENAI_API_KEY",
            "endpoint": "AZURE_OPENAI_ENDPOINT",
            "api_version": "AZURE_OPENAI_API_VERSION",
            "base_url": "AZURE_BASE_URL",
            MODE_KEY: "AZURE_OPENAI_RESPONSES_API",
        },
        required_credentials=("subscription_key", ("endpoint", "base_url")),
        llm=lambda ctx: OpenAILargeLanguageCaller(ctx, azure_wire(ctx.credential)),
        embedding=lambda ctx: OpenAIEmbeddingCaller(ctx, azure_wire(ctx.credential)),
        verifier=lambda ctx: OpenAIVerifier(ctx, azure_wire(ctx.credential)),
        models=lambda ctx: OpenAIModelLister(ctx, azure_wire(ctx.credential)),
        text_completion=lambda ctx: OpenAITextCompletionCaller(ctx, azure_wire(ctx.credential)),
        natives={RESPONSES: native_factory(lambda credential: azure_wire(credential, V1))},
        openai_format=True,
        chat_parameters=AZURE_CHAT_PARAMETERS,
        embedding_parameters=EMBEDDING_PARAMETERS,
    ),
)
