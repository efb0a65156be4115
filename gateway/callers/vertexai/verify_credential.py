"""``Verifier`` for Vertex AI: the token exchange, then a free listing call.

1. The service-account JWT is exchanged for an access token: a bad key or a
   revoked account is refused there (``invalid_grant``) -> ``valid=False``.
2. ``GET /v1/projects/{project}/locations/{region}/endpoints?pageSize=1``
   (``projects.locations.endpoints.list``, Vertex AI REST reference): a free
   control-plane read that proves the token works for that project and location;
   401/403 -> ``valid=False``. No paid prediction is made.
"""

from __future__ import annotations

from gateway.callers.base import CallerContext, CredentialVerifierOptions
from gateway.callers.gemini.errors import GoogleErrorParser, google_errors
from gateway.callers.http import request_json
from gateway.callers.vertexai.wire import VertexEndpoint
from gateway.core.results import Verification
from gateway.errors import AuthenticationError, PermissionDeniedError


class VertexVerifier:
    def __init__(self, ctx: CallerContext, endpoint: VertexEndpoint) -> None:
        self._ctx = ctx
        self._endpoint = endpoint

    async def verify_credential(self, options: CredentialVerifierOptions) -> Verification:
        endpoint = self._endpoint
        parser = GoogleErrorParser()
        try:
            headers = await endpoint.headers()
            with google_errors(parser):
                await request_json(
                    self._ctx.http, "GET", endpoint.location_url("endpoints"), provider=endpoint.provider,
                    timeouts=self._ctx.timeouts, headers=headers, params={"pageSize": "1"}, parse_error=parser,
                )
        except (AuthenticationError, PermissionDeniedError) as exc:
            return Verification(valid=False, detail=exc.message)
        return Verification(
            valid=True,
            detail=f"{endpoint.provider}: the service account {endpoint.account().client_email} may use project "
                   f"{endpoint.project} in {endpoint.region}.",
        )
