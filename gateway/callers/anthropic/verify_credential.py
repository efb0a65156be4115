"""``Verifier`` for Anthropic: ``GET /v1/models``, which the API docs list as free.

Reference: Anthropic API docs, "Models" - "List Models" needs only the API key;
a rejected key answers 401 (``authentication_error``) or 403 (``permission_error``).
"""

from __future__ import annotations

from gateway.callers.anthropic.errors import parse_anthropic_error
from gateway.callers.anthropic.wire import MODELS_PATH, AnthropicWire
from gateway.callers.base import CallerContext, CredentialVerifierOptions
from gateway.callers.http import malformed, request_json
from gateway.core.results import Verification
from gateway.errors import AuthenticationError, PermissionDeniedError


class AnthropicVerifier:
    def __init__(self, ctx: CallerContext, wire: AnthropicWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def verify_credential(self, options: CredentialVerifierOptions) -> Verification:
        """Valid on a 2xx model list, invalid on 401/403; anything else raises."""
        wire = self._wire
        try:
            data, _ = await request_json(
                self._ctx.http, "GET", wire.url(MODELS_PATH), provider=wire.provider, timeouts=self._ctx.timeouts,
                headers=wire.headers, params={"limit": "1"}, parse_error=parse_anthropic_error,
            )
        except (AuthenticationError, PermissionDeniedError) as exc:
            return Verification(valid=False, detail=exc.message)
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise malformed(wire.provider, "no 'data' in the model list")
        return Verification(valid=True, detail=f"{wire.provider}: the credential was accepted.")
