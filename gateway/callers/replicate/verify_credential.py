"""``Verifier`` for Replicate: ``GET /v1/account``, a free call.

Reference: Replicate HTTP API, "Get the authenticated account". A 401/403
means the token is invalid; any other failure raises.
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, CredentialVerifierOptions
from gateway.callers.http import malformed, request_json
from gateway.callers.replicate.wire import NAME, parse_replicate_error, replicate_wire
from gateway.core.results import Verification
from gateway.errors import AuthenticationError, PermissionDeniedError


class ReplicateVerifier:
    def __init__(self, ctx: CallerContext) -> None:
        self._ctx = ctx

    async def verify_credential(self, options: CredentialVerifierOptions) -> Verification:
        wire = replicate_wire(self._ctx.credential)
        try:
            data, _ = await request_json(self._ctx.http, "GET", wire.url("v1/account"), provider=NAME,
                                         timeouts=self._ctx.timeouts, headers=wire.headers,
                                         parse_error=parse_replicate_error)
        except (AuthenticationError, PermissionDeniedError) as exc:
            return Verification(valid=False, detail=exc.message)
        if not isinstance(data, dict) or not isinstance(data.get("username"), str):
            raise malformed(NAME, "the account has no username")
        return Verification(valid=True, detail=f"{NAME}: the token belongs to '{data['username']}'.")
