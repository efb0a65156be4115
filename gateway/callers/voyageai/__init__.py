"""Voyage AI: text embeddings and rerankers (no chat).

Reference: Voyage AI API reference (docs.voyageai.com/reference) - Text
embedding models, Rerankers.
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, ProviderSpec
from gateway.callers.voyageai.embedding import EMBEDDING_PARAMETERS, VoyageEmbeddingCaller
from gateway.callers.voyageai.rerank import RERANK_PARAMETERS, VoyageRerankingCaller
from gateway.callers.voyageai.verify_credential import VoyageVerifier
from gateway.callers.voyageai.wire import NAME, VoyageWire, voyage_wire


def _wire(ctx: CallerContext) -> VoyageWire:
    return voyage_wire(ctx.credential)


PROVIDERS = (
    ProviderSpec(
        name=NAME,
        description="Voyage AI embeddings and rerankers",
        credential_env={"key": "VOYAGE_API_KEY", "base_url": "VOYAGE_BASE_URL"},
        required_credentials=("key",),
        embedding=lambda ctx: VoyageEmbeddingCaller(ctx, _wire(ctx)),
        reranking=lambda ctx: VoyageRerankingCaller(ctx, _wire(ctx)),
        verifier=lambda ctx: VoyageVerifier(ctx, _wire(ctx)),
        streaming=False,
        tools=False,
        embedding_parameters=EMBEDDING_PARAMETERS,
        rerank_parameters=RERANK_PARAMETERS,
    ),
)
