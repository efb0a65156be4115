"""OpenAI (and any server speaking its format via ``OPENAI_BASE_URL``): the reference caller.

Reference: OpenAI API reference - Chat Completions, Embeddings, Models, Responses (relayed as
sent unless ``OPENAI_RESPONSES_API=translated``, for servers without the endpoint).
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, Credential, ProviderSpec
from gateway.callers.openai.completions import OpenAITextCompletionCaller
from gateway.callers.openai.embedding import EMBEDDING_PARAMETERS, OpenAIEmbeddingCaller
from gateway.callers.openai.llm import OpenAILargeLanguageCaller
from gateway.callers.openai.models import OpenAIModelLister
from gateway.callers.openai.request import CHAT_PARAMETERS
from gateway.callers.openai.responses import FORMAT as RESPONSES
from gateway.callers.openai.responses import MODE_KEY, native_factory
from gateway.callers.openai.verify_credential import OpenAIVerifier
from gateway.callers.openai.wire import OpenAIWire, bearer_wire

NAME = "openai"


def _wire(ctx: CallerContext) -> OpenAIWire:
    return bearer_wire(NAME, ctx.credential)


def _responses_wire(credential: Credential) -> OpenAIWire:
    return bearer_wire(NAME, credential)


PROVIDERS = (
    ProviderSpec(
        name=NAME,
        description="OpenAI, or any OpenAI-compatible server through OPENAI_BASE_URL",
        credential_env={"key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL", "organization": "OPENAI_ORG_ID",
                        MODE_KEY: "OPENAI_RESPONSES_API"},
        required_credentials=("key",),
        llm=lambda ctx: OpenAILargeLanguageCaller(ctx, _wire(ctx)),
        embedding=lambda ctx: OpenAIEmbeddingCaller(ctx, _wire(ctx)),
        verifier=lambda ctx: OpenAIVerifier(ctx, _wire(ctx)),
        models=lambda ctx: OpenAIModelLister(ctx, _wire(ctx)),
        text_completion=lambda ctx: OpenAITextCompletionCaller(ctx, _wire(ctx)),
        natives={RESPONSES: native_factory(_responses_wire)},
        openai_format=True,
        chat_parameters=CHAT_PARAMETERS,
        embedding_parameters=EMBEDDING_PARAMETERS,
    ),
)
