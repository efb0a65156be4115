"""``Verifier`` for Mistral: ``GET /v1/models``, a free call.

Reference: Mistral API, "List Models". 2xx means the key is valid, 401/403 that
it is not; any other failure (429, 5xx, transport) is raised, since it says
nothing about the key.
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, CredentialVerifierOptions
from gateway.callers.http import request_json
from gateway.callers.mistral.wire import MistralWire, parse_mistral_error
from gateway.core.results import Verification
from gateway.errors import AuthenticationError, PermissionDeniedError


class MistralVerifier:
    def __init__(self, ctx: CallerContext, wire: MistralWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def verify_credential(self, options: CredentialVerifierOptions) -> Verification:
        wire = self._wire
        try:
            await request_json(self._ctx.http, "GET", wire.url("models"), provider=wire.provider,
                               timeouts=self._ctx.timeouts, headers=wire.headers, parse_error=parse_mistral_error)
        except (AuthenticationError, PermissionDeniedError) as exc:
            return Verification(valid=False, detail=exc.message)
        return Verification(valid=True, detail=f"{wire.provider}: the credential was accepted.")
