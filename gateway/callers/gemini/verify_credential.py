"""``Verifier`` for the Gemini API: ``GET /v1beta/models`` (``models.list``), a free call.

Reference: Gemini API reference "Models" -> ``models.list``
(https://ai.google.dev/api/models#method:-models.list). A bad key is answered
with 400 ``API_KEY_INVALID``, which ``google_errors`` turns into an
authentication error.
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, CredentialVerifierOptions
from gateway.callers.gemini.errors import GoogleErrorParser, google_errors
from gateway.callers.gemini.wire import ApiKeyEndpoint
from gateway.callers.http import request_json
from gateway.core.results import Verification
from gateway.errors import AuthenticationError, PermissionDeniedError


class GeminiVerifier:
    def __init__(self, ctx: CallerContext, endpoint: ApiKeyEndpoint) -> None:
        self._ctx = ctx
        self._endpoint = endpoint

    async def verify_credential(self, options: CredentialVerifierOptions) -> Verification:
        endpoint = self._endpoint
        parser = GoogleErrorParser()
        try:
            with google_errors(parser):
                await request_json(
                    self._ctx.http, "GET", endpoint.url("models"), provider=endpoint.provider,
                    timeouts=self._ctx.timeouts, headers=await endpoint.headers(), params={"pageSize": "1"},
                    parse_error=parser,
                )
        except (AuthenticationError, PermissionDeniedError) as exc:
            return Verification(valid=False, detail=exc.message)
        return Verification(valid=True, detail=f"{endpoint.provider}: the API key was accepted.")
