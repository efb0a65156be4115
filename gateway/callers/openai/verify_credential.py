"""``Verifier`` for OpenAI-format APIs: ``GET /models``, a free call."""

from __future__ import annotations

from gateway.callers.base import CallerContext, CredentialVerifierOptions
from gateway.callers.openai.models import get_models
from gateway.callers.openai.wire import OpenAIWire
from gateway.core.results import Verification
from gateway.errors import AuthenticationError, PermissionDeniedError


class OpenAIVerifier:
    """``path``: the free authenticated call, ``models`` unless the vendor's list is public."""

    def __init__(self, ctx: CallerContext, wire: OpenAIWire, path: str = "models") -> None:
        self._ctx = ctx
        self._wire = wire
        self._path = path

    async def verify_credential(self, options: CredentialVerifierOptions) -> Verification:
        try:
            await get_models(self._ctx, self._wire, self._path)
        except (AuthenticationError, PermissionDeniedError) as exc:
            return Verification(valid=False, detail=exc.message)
        return Verification(valid=True, detail=f"{self._wire.provider}: the credential was accepted.")
