"""Google Vertex AI (Gemini models), spoken natively with service-account OAuth.

Chat reuses the Gemini package's translation and caller (same
``generateContent`` format, https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference);
this package adds the OAuth token exchange (``auth``), the project/location
endpoint (``wire``), the ``:predict`` embeddings and the verifier.
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, ProviderSpec
from gateway.callers.gemini.llm import GeminiLargeLanguageCaller
from gateway.callers.gemini.request import CHAT_PARAMETERS
from gateway.callers.vertexai.embedding import EMBEDDING_PARAMETERS, VertexEmbeddingCaller
from gateway.callers.vertexai.verify_credential import VertexVerifier
from gateway.callers.vertexai.wire import VertexEndpoint, vertex_endpoint

NAME = "vertexai"


def _endpoint(ctx: CallerContext) -> VertexEndpoint:
    return vertex_endpoint(NAME, ctx)


PROVIDERS = (
    ProviderSpec(
        name=NAME,
        description="Google Vertex AI Gemini models (service-account OAuth; chat, streaming, tools, embeddings)",
        credential_env={
            "service_account_key": "GOOGLE_APPLICATION_CREDENTIALS",
            "project_id": "VERTEXAI_PROJECT",
            "region": "VERTEXAI_LOCATION",
            "base_url": "VERTEXAI_BASE_URL",
        },
        required_credentials=("service_account_key",),
        file_credentials=frozenset({"service_account_key"}),
        llm=lambda ctx: GeminiLargeLanguageCaller(ctx, _endpoint(ctx)),
        embedding=lambda ctx: VertexEmbeddingCaller(ctx, _endpoint(ctx)),
        verifier=lambda ctx: VertexVerifier(ctx, _endpoint(ctx)),
        chat_parameters=CHAT_PARAMETERS,
        embedding_parameters=EMBEDDING_PARAMETERS,
    ),
)
