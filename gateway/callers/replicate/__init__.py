"""Replicate: language models run as predictions (``prompt`` in, text tokens out).

Chat, streaming (server-sent events) and credential checks; no tools and no
embeddings. References: Replicate HTTP API reference and streaming guide.
"""

from __future__ import annotations

from gateway.callers.base import ProviderSpec
from gateway.callers.replicate.llm import ReplicateLargeLanguageCaller
from gateway.callers.replicate.request import CHAT_PARAMETERS
from gateway.callers.replicate.verify_credential import ReplicateVerifier
from gateway.callers.replicate.wire import NAME

PROVIDERS = (
    ProviderSpec(
        name=NAME,
        description="Replicate predictions (language models such as meta/meta-llama-3-8b-instruct)",
        credential_env={"key": "REPLICATE_API_TOKEN", "base_url": "REPLICATE_BASE_URL"},
        required_credentials=("key",),
        llm=ReplicateLargeLanguageCaller,
        verifier=ReplicateVerifier,
        tools=False,
        chat_parameters=CHAT_PARAMETERS,
    ),
)
