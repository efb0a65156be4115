"""``Verifier`` for Cohere: ``GET /v1/models``, a free call.

The SDK's ``check_api_key`` is deprecated; listing models (Cohere API reference,
"List Models") costs nothing and fails with 401 for a bad key.
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, CredentialVerifierOptions
from gateway.callers.cohere.wire import CohereWire, parse_cohere_error
from gateway.callers.http import request_json
from gateway.core.results import Verification
from gateway.errors import AuthenticationError, PermissionDeniedError


class CohereVerifier:
    def __init__(self, ctx: CallerContext, wire: CohereWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def verify_credential(self, options: CredentialVerifierOptions) -> Verification:
        """401/403 -> ``valid=False``; any other failure raises."""
        wire = self._wire
        try:
            await request_json(self._ctx.http, "GET", wire.url("v1/models"), provider=wire.provider,
                               timeouts=self._ctx.timeouts, headers=wire.headers, params={"page_size": "1"},
                               parse_error=parse_cohere_error)
        except (AuthenticationError, PermissionDeniedError) as exc:
            return Verification(valid=False, detail=exc.message)
        return Verification(valid=True, detail=f"{wire.provider}: the credential was accepted.")
