"""Google's Gemini API (generativelanguage.googleapis.com), spoken natively.

Reference: Gemini API reference, https://ai.google.dev/api - generateContent,
streamGenerateContent (SSE), batchEmbedContents, models.list. The translation
modules here (``request``, ``generation``, ``tools``, ``response``) are shared
with the Vertex AI provider, which speaks the same ``generateContent`` format.
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, ProviderSpec
from gateway.callers.gemini.count import GeminiTokenCounter
from gateway.callers.gemini.embedding import EMBEDDING_PARAMETERS, GeminiEmbeddingCaller
from gateway.callers.gemini.llm import GeminiLargeLanguageCaller
from gateway.callers.gemini.request import CHAT_PARAMETERS
from gateway.callers.gemini.verify_credential import GeminiVerifier
from gateway.callers.gemini.wire import ApiKeyEndpoint, api_key_endpoint

NAME = "gemini"


def _endpoint(ctx: CallerContext) -> ApiKeyEndpoint:
    return api_key_endpoint(NAME, ctx.credential)


PROVIDERS = (
    ProviderSpec(
        name=NAME,
        description="Google Gemini API (generateContent, streaming, function calling, embeddings)",
        credential_env={"key": "GEMINI_API_KEY", "base_url": "GEMINI_BASE_URL"},
        required_credentials=("key",),
        llm=lambda ctx: GeminiLargeLanguageCaller(ctx, _endpoint(ctx)),
        embedding=lambda ctx: GeminiEmbeddingCaller(ctx, _endpoint(ctx)),
        verifier=lambda ctx: GeminiVerifier(ctx, _endpoint(ctx)),
        token_counter=lambda ctx: GeminiTokenCounter(ctx, _endpoint(ctx)),
        chat_parameters=CHAT_PARAMETERS,
        embedding_parameters=EMBEDDING_PARAMETERS,
    ),
)
