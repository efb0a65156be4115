"""Hugging Face: chat through the Inference Providers router (OpenAI format, served
by the reused OpenAI caller classes), embeddings through HF Inference feature
extraction, credential checks through the Hub's ``whoami-v2``.

References: Hugging Face docs, Inference Providers ("Chat Completion",
"Feature Extraction") and the Hub API.
"""

from __future__ import annotations

from gateway.callers.base import ProviderSpec
from gateway.callers.huggingface.embedding import EMBEDDING_PARAMETERS, HuggingFaceEmbeddingCaller
from gateway.callers.huggingface.endpoints import NAME, chat_wire
from gateway.callers.huggingface.verify_credential import HuggingFaceVerifier
from gateway.callers.openai.llm import OpenAILargeLanguageCaller
from gateway.core import params as p

# The request fields the router's chat-completion spec documents (hub-docs,
# tasks/chat-completion); ``n``, ``user``, ``reasoning_effort`` and the like are not.
CHAT_PARAMETERS = frozenset(
    {
        p.NAME, p.TEMPERATURE, p.TOP_P, p.MAX_COMPLETION_TOKENS, p.FREQUENCY_PENALTY, p.PRESENCE_PENALTY,
        p.SEED, p.STOP, p.TOOL_CHOICE, p.RESPONSE_FORMAT, p.LOGPROBS, p.TOP_LOGPROBS,
    }
)

PROVIDERS = (
    ProviderSpec(
        name=NAME,
        description="Hugging Face Inference Providers (router chat), HF Inference feature extraction",
        credential_env={
            "key": "HF_TOKEN",
            "base_url": "HUGGINGFACE_BASE_URL",
            "hub_url": "HUGGINGFACE_HUB_URL",
            "inference_url": "HUGGINGFACE_INFERENCE_URL",
        },
        required_credentials=("key",),
        llm=lambda ctx: OpenAILargeLanguageCaller(ctx, chat_wire(ctx.credential)),
        embedding=HuggingFaceEmbeddingCaller,
        verifier=HuggingFaceVerifier,
        chat_parameters=CHAT_PARAMETERS,
        embedding_parameters=EMBEDDING_PARAMETERS,
    ),
)
