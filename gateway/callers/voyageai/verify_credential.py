"""``Verifier`` for Voyage AI: the cheapest embeddings call there is.

Voyage's API reference lists only inference endpoints (embeddings, multimodal
and contextualized embeddings, rerank): no model list, account or key-check
endpoint exists. So the check embeds one four-letter input with the cheapest
text model (``voyage-3.5-lite``): a paid call, but of a token or two.
401/403 mean the key is invalid; any other failure raises.
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, CredentialVerifierOptions
from gateway.callers.http import request_json
from gateway.callers.voyageai.wire import VoyageWire, parse_voyage_error
from gateway.core.results import Verification
from gateway.errors import AuthenticationError, PermissionDeniedError

PROBE_MODEL = "voyage-3.5-lite"
PROBE_BODY = {"input": ["ping"], "model": PROBE_MODEL}


class VoyageVerifier:
    def __init__(self, ctx: CallerContext, wire: VoyageWire) -> None:
        self._ctx = ctx
        self._wire = wire

    async def verify_credential(self, options: CredentialVerifierOptions) -> Verification:
        wire = self._wire
        try:
            await request_json(self._ctx.http, "POST", wire.url("embeddings"), provider=wire.provider,
                               timeouts=self._ctx.timeouts, headers=wire.headers, json=PROBE_BODY,
                               parse_error=parse_voyage_error)
        except (AuthenticationError, PermissionDeniedError) as exc:
            return Verification(valid=False, detail=exc.message)
        return Verification(valid=True, detail=f"{wire.provider}: the credential was accepted.")
