"""OpenAI-compatible vendors as presets: one ``ProviderSpec`` per row of ``profiles.PROFILES``.

Every preset reuses the OpenAI callers with its own wire; adding a vendor is a
new table row, not new code. Credentials: ``key`` from ``<VENDOR>_API_KEY`` and
``base_url`` from ``<NAME>_BASE_URL`` (see each row).
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, EmbeddingCaller, ProviderSpec
from gateway.callers.openai.completions import OpenAITextCompletionCaller
from gateway.callers.openai.embedding import OpenAIEmbeddingCaller
from gateway.callers.openai.llm import OpenAILargeLanguageCaller
from gateway.callers.openai.models import OpenAIModelLister
from gateway.callers.openai.verify_credential import OpenAIVerifier
from gateway.callers.openai_compatible.profiles import PROFILES, Profile
from gateway.callers.openai_compatible.wire import preset_wire

__all__ = ["PROFILES", "PROVIDERS", "Profile", "spec"]


def spec(profile: Profile) -> ProviderSpec:
    """The ``ProviderSpec`` a profile describes."""

    def embedding(ctx: CallerContext) -> EmbeddingCaller:
        return OpenAIEmbeddingCaller(ctx, preset_wire(profile, ctx.credential))

    return ProviderSpec(
        name=profile.name,
        description=f"{profile.description}; docs: {profile.docs}",
        credential_env={"key": profile.key_env, "base_url": profile.base_url_env},
        required_credentials=("key",) if profile.key_required else (),
        llm=lambda ctx: OpenAILargeLanguageCaller(ctx, preset_wire(profile, ctx.credential)),
        embedding=embedding if profile.embeddings else None,
        verifier=lambda ctx: OpenAIVerifier(ctx, preset_wire(profile, ctx.credential), profile.verify_path),
        models=lambda ctx: OpenAIModelLister(ctx, preset_wire(profile, ctx.credential)),
        text_completion=lambda ctx: OpenAITextCompletionCaller(ctx, preset_wire(profile, ctx.credential)),
        openai_format=True,
        chat_parameters=profile.chat_parameters,
        embedding_parameters=profile.embedding_parameters,
    )


PROVIDERS = tuple(spec(profile) for profile in PROFILES)
