"""Anthropic: the Messages API (chat, streaming, tools) and a free credential check.

Reference: Anthropic API docs - Messages, Streaming Messages, Tool use, Extended
thinking, Structured outputs, Errors, Models. No embeddings or reranking: the API
has neither.
"""

from __future__ import annotations

from gateway.callers.anthropic.llm import AnthropicLargeLanguageCaller
from gateway.callers.anthropic.models import AnthropicModelLister
from gateway.callers.anthropic.native import FORMAT, AnthropicNativeCaller
from gateway.callers.anthropic.request import CHAT_PARAMETERS
from gateway.callers.anthropic.verify_credential import AnthropicVerifier
from gateway.callers.anthropic.wire import AnthropicWire, anthropic_wire
from gateway.callers.base import CallerContext, ProviderSpec

NAME = "anthropic"


def _wire(ctx: CallerContext) -> AnthropicWire:
    return anthropic_wire(NAME, ctx.credential)


PROVIDERS = (
    ProviderSpec(
        name=NAME,
        description="Anthropic Claude through the Messages API",
        credential_env={"key": "ANTHROPIC_API_KEY", "base_url": "ANTHROPIC_BASE_URL"},
        required_credentials=("key",),
        llm=lambda ctx: AnthropicLargeLanguageCaller(ctx, _wire(ctx)),
        verifier=lambda ctx: AnthropicVerifier(ctx, _wire(ctx)),
        models=lambda ctx: AnthropicModelLister(ctx, _wire(ctx)),
        chat_parameters=CHAT_PARAMETERS,
        natives={FORMAT: lambda ctx: AnthropicNativeCaller(ctx, _wire(ctx))},
    ),
)
