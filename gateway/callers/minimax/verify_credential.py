"""``Verifier`` for MiniMax: ``GET /v1/models``, a free call.

Reference: MiniMax docs, "Models" (OpenAI-compatible ``GET /v1/models`` and
``GET /v1/models/{model_id}``). The seed verified with a paid one-token chat;
listing models costs nothing. 2xx means the key is valid; 401/403, or a
``base_resp`` auth code (1004, 2049), that it is not; anything else is raised.
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, CredentialVerifierOptions
from gateway.callers.http import request_json
from gateway.callers.minimax.wire import MiniMaxWire, error_in_body, parse_minimax_error
from gateway.core.results import Verification
from gateway.errors import AuthenticationError, PermissionDeniedError


class MiniMaxVerifier:
    def __init__(self, ctx: CallerContext, wire: MiniMaxWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def verify_credential(self, options: CredentialVerifierOptions) -> Verification:
        wire = self._wire
        try:
            data, _ = await request_json(self._ctx.http, "GET", wire.url("models"), provider=wire.provider,
                                         timeouts=self._ctx.timeouts, headers=wire.headers,
                                         parse_error=parse_minimax_error)
            error = error_in_body(data)
            if error is not None:
                raise error
        except (AuthenticationError, PermissionDeniedError) as exc:
            return Verification(valid=False, detail=exc.message)
        return Verification(valid=True, detail=f"{wire.provider}: the credential was accepted.")
