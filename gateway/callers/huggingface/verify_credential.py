"""``Verifier`` for Hugging Face: ``GET {hub_url}/api/whoami-v2``, a free call.

Reference: Hugging Face Hub API (``HfApi.whoami``). A 401/403 means the token
is invalid; any other failure (5xx, timeout, an unexpected answer) raises
instead of counting as valid.
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, CredentialVerifierOptions
from gateway.callers.http import join_url, malformed, request_json
from gateway.callers.huggingface.endpoints import NAME, auth_headers, endpoints
from gateway.callers.huggingface.errors import parse_hf_error
from gateway.core.results import Verification
from gateway.errors import AuthenticationError, PermissionDeniedError


class HuggingFaceVerifier:
    def __init__(self, ctx: CallerContext) -> None:
        self._ctx = ctx

    async def verify_credential(self, options: CredentialVerifierOptions) -> Verification:
        credential = self._ctx.credential
        url = join_url(endpoints(credential).hub, "api/whoami-v2")
        try:
            data, _ = await request_json(self._ctx.http, "GET", url, provider=NAME, timeouts=self._ctx.timeouts,
                                         headers=auth_headers(credential), parse_error=parse_hf_error)
        except (AuthenticationError, PermissionDeniedError) as exc:
            return Verification(valid=False, detail=exc.message)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise malformed(NAME, "whoami-v2 named no account")
        return Verification(valid=True, detail=f"{NAME}: the token belongs to '{data['name']}'.")
