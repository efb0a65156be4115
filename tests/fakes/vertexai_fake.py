"""A fake Vertex AI (publisher-model generateContent / streamGenerateContent / predict,
endpoints.list) plus a fake Google OAuth token endpoint, as Google documents them.

``POST /token`` implements the JWT-bearer grant (RFC 7523, Google's "OAuth 2.0
for Server to Server Applications"): it checks the grant type, verifies the RS256
signature with the service account's public key and the claims (iss, scope,
iat/exp at most an hour apart, and aud = https://oauth2.googleapis.com/token,
which Google requires whatever the token endpoint's own address), and issues
``ya29.fake-<n>`` tokens with ``expires_in``. A bad signature gets
``400 {"error": "invalid_grant", ...}``. The token route is outside the scripted
answer queue, so ``enqueue`` always scripts the model routes.

Model routes accept only issued tokens (else 401 UNAUTHENTICATED) and only the
configured project (else 403 PERMISSION_DENIED); their default answers are the
Gemini fake's, since Vertex speaks the same generateContent format.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any
from urllib.parse import parse_qs

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.gemini_fake import default_answer, default_stream, google_error
from tests.fakes.openai_fake import fake_vector
from tests.fakes.server import FakeUpstream, Scripted

PROJECT = "proj-test"
CLIENT_EMAIL = "gateway-test@proj-test.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
AUDIENCE = "https://oauth2.googleapis.com/token"
MODELS = "/v1/projects/{project}/locations/{location}/publishers/google/models/{model}"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeVertex(FakeUpstream):
    def __init__(self, public_key: rsa.RSAPublicKey, *, expires_in: int = 3599, token_delay: float = 0.0) -> None:
        self.public_key = public_key
        self.expires_in = expires_in
        self.token_delay = token_delay
        self.token_requests: list[dict[str, Any]] = []
        self.jwt_headers: list[dict[str, Any]] = []
        self.issued: set[str] = set()
        super().__init__()

    def routes(self) -> None:
        self._app.add_route("/token", self._token, methods=["POST"])
        self.route(MODELS + ":generateContent", self._generate)
        self.route(MODELS + ":streamGenerateContent", self._stream)
        self.route(MODELS + ":predict", self._predict)
        self.route("/v1/projects/{project}/locations/{location}/endpoints", self._endpoints, methods=("GET",))

    async def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        claims = self._verified_claims(form.get("assertion", ""))
        if claims is None:
            return JSONResponse({"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
                                status_code=400)
        self.token_requests.append(claims)
        token = f"ya29.fake-{len(self.token_requests)}"
        self.issued.add(token)
        return JSONResponse({"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"})

    def _verified_claims(self, assertion: str) -> dict[str, Any] | None:
        try:
            head, body, signature = assertion.split(".")
            self.public_key.verify(_unb64(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, InvalidSignature):
            return None
        header, claims = orjson.loads(_unb64(head)), orjson.loads(_unb64(body))
        self.jwt_headers.append(header)
        now = time.time()
        valid = (header.get("alg") == "RS256" and claims.get("iss") == CLIENT_EMAIL and claims.get("aud") == AUDIENCE
                 and claims.get("scope") == SCOPE and abs(claims.get("iat", 0) - now) < 300
                 and 0 < claims.get("exp", 0) - claims.get("iat", 0) <= 3600)
        return claims if valid else None

    def _refusal(self, request: Request) -> Scripted | None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.issued:
            return google_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                                "UNAUTHENTICATED")
        if request.path_params.get("project") != PROJECT:
            return google_error(403, f"Permission 'aiplatform.endpoints.predict' denied on resource "
                                     f"'projects/{request.path_params.get('project')}'.", "PERMISSION_DENIED")
        return None

    def _generate(self, request: Request, body: Any) -> Scripted:
        return self._refusal(request) or Scripted(json=default_answer(body))

    def _stream(self, request: Request, body: Any) -> Scripted:
        if request.query_params.get("alt") != "sse":
            return google_error(400, "this fake only streams with alt=sse", "INVALID_ARGUMENT")
        return self._refusal(request) or default_stream(body)

    def _predict(self, request: Request, body: Any) -> Scripted:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        dims = (body.get("parameters") or {}).get("outputDimensionality") or 8
        predictions = [{"embeddings": {"values": fake_vector(item["content"], dims),
                                       "statistics": {"token_count": len(item["content"].split()),
                                                      "truncated": False}}}
                       for item in body["instances"]]
        return Scripted(json={"predictions": predictions, "metadata": {"billableCharacterCount": 10}})

    def _endpoints(self, request: Request, body: Any) -> Scripted:
        return self._refusal(request) or Scripted(json={"endpoints": []})
