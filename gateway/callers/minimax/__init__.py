"""MiniMax: chat, streaming, tools and verification over its OpenAI-compatible API.

Reference: MiniMax platform docs, "OpenAI API compatible" and "Chat Completions
API (OpenAI-compatible)". The body is OpenAI's with MiniMax's limits (see
``request.py``); answers carry inline ``<think>`` reasoning (``think.py``) and
may report errors with HTTP 200 and a ``base_resp`` status (``wire.py``).
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, ProviderSpec
from gateway.callers.minimax.llm import MiniMaxLargeLanguageCaller
from gateway.callers.minimax.models import MiniMaxModelLister
from gateway.callers.minimax.request import CHAT_PARAMETERS
from gateway.callers.minimax.verify_credential import MiniMaxVerifier
from gateway.callers.minimax.wire import NAME, MiniMaxWire, minimax_wire


def _wire(ctx: CallerContext) -> MiniMaxWire:
    return minimax_wire(ctx.credential)


PROVIDERS = (
    ProviderSpec(
        name=NAME,
        description="MiniMax chat completions (OpenAI-compatible API)",
        credential_env={"key": "MINIMAX_API_KEY", "base_url": "MINIMAX_BASE_URL"},
        required_credentials=("key",),
        llm=lambda ctx: MiniMaxLargeLanguageCaller(ctx, _wire(ctx)),
        verifier=lambda ctx: MiniMaxVerifier(ctx, _wire(ctx)),
        models=lambda ctx: MiniMaxModelLister(ctx, _wire(ctx)),
        chat_parameters=CHAT_PARAMETERS,
    ),
)
