"""Cohere (API v2): chat with tools and streaming, embeddings, rerank.

Reference: Cohere API reference (docs.cohere.com/reference) - Chat, Chat with
Streaming, Embed, Rerank, List Models.
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, ProviderSpec
from gateway.callers.cohere.embedding import EMBEDDING_PARAMETERS, CohereEmbeddingCaller
from gateway.callers.cohere.llm import CohereLargeLanguageCaller
from gateway.callers.cohere.request import CHAT_PARAMETERS
from gateway.callers.cohere.rerank import RERANK_PARAMETERS, CohereRerankingCaller
from gateway.callers.cohere.verify_credential import CohereVerifier
from gateway.callers.cohere.wire import NAME, CohereWire, cohere_wire


def _wire(ctx: CallerContext) -> CohereWire:
    return cohere_wire(ctx.credential)


PROVIDERS = (
    ProviderSpec(
        name=NAME,
        description="Cohere API v2: Command chat models, Embed and Rerank",
        credential_env={"key": "COHERE_API_KEY", "base_url": "COHERE_BASE_URL"},
        required_credentials=("key",),
        llm=lambda ctx: CohereLargeLanguageCaller(ctx, _wire(ctx)),
        embedding=lambda ctx: CohereEmbeddingCaller(ctx, _wire(ctx)),
        reranking=lambda ctx: CohereRerankingCaller(ctx, _wire(ctx)),
        verifier=lambda ctx: CohereVerifier(ctx, _wire(ctx)),
        chat_parameters=CHAT_PARAMETERS,
        embedding_parameters=EMBEDDING_PARAMETERS,
        rerank_parameters=RERANK_PARAMETERS,
    ),
)
