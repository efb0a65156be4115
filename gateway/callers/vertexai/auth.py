"""OAuth 2.0 access tokens for a service account (JWT-bearer grant, RFC 7523).

Reference: Google Identity "Using OAuth 2.0 for Server to Server Applications"
(https://developers.google.com/identity/protocols/oauth2/service-account#httprest):
an RS256-signed JWT with ``iss`` = client_email, ``scope``, ``iat``, ``exp`` (at
most one hour later) and ``aud`` - which "when making an access token request is
always https://oauth2.googleapis.com/token", even when the key's ``token_uri``
names another (private) endpoint, as Google's own ``google-auth`` library does -
POSTed form-encoded as
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>`` to the
key's ``token_uri``; the answer is ``{"access_token", "expires_in", "token_type"}``,
an error ``{"error": "invalid_grant", "error_description": ...}``.

Tokens are cached per (client_email, scope, token_uri) until shortly before they
expire, with one ``asyncio.Lock`` per key so concurrent requests fetch once. A
``TokenCache`` belongs to the endpoint that uses it (``wire.VertexEndpoint``), which the
gateway builds once per deployment and keeps (``GatewayService._bind``): no module-level
token store; each cache holds at most ``max_entries`` tokens.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import httpx
import orjson
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from gateway.callers.base import Timeouts
from gateway.callers.http import ErrorInfo, error_from_response, httpx_timeout, malformed, transport_error
from gateway.callers.vertexai.credentials import ServiceAccount
from gateway.errors import AuthenticationError, UpstreamTimeoutError

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
ASSERTION_LIFETIME = 3600

TokenKey = tuple[str, str, str]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_assertion(account: ServiceAccount, scope: str, now: int, provider: str) -> str:
    """The RS256 JWT the token endpoint exchanges for an access token."""
    header = {"alg": "RS256", "typ": "JWT", **({"kid": account.private_key_id} if account.private_key_id else {})}
    claims = {"iss": account.client_email, "scope": scope, "aud": TOKEN_AUDIENCE, "iat": now,
              "exp": now + ASSERTION_LIFETIME}
    signing_input = f"{_b64(orjson.dumps(header))}.{_b64(orjson.dumps(claims))}"
    try:
        key = serialization.load_pem_private_key(account.private_key.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AuthenticationError(f"{provider}: the service account's private_key is not an RSA PEM key.",
                                  code="invalid_service_account", provider=provider, source="deployment")
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def parse_oauth_error(body: object) -> ErrorInfo | None:
    """RFC 6749 section 5.2 error bodies."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return None
    description = body.get("error_description")
    text = f"{body['error']}: {description}" if isinstance(description, str) else body["error"]
    return ErrorInfo(text, body["error"])


async def fetch_token(http: httpx.AsyncClient, account: ServiceAccount, scope: str, timeouts: Timeouts,
                      provider: str) -> tuple[str, float]:
    """``(access token, lifetime in seconds)``. A refused exchange (4xx) is an
    ``AuthenticationError``; other failures map as any upstream error."""
    form = urlencode({"grant_type": JWT_BEARER,
                      "assertion": signed_assertion(account, scope, int(time.time()), provider)})
    try:
        async with asyncio.timeout(timeouts.total):
            response = await http.post(account.token_uri, content=form, timeout=httpx_timeout(timeouts, stream=False),
                                       headers={"content-type": "application/x-www-form-urlencoded"})
    except httpx.HTTPError as exc:
        raise transport_error(exc, provider) from exc
    except TimeoutError as exc:
        raise UpstreamTimeoutError(f"{provider}: the token endpoint did not answer in time.",
                                   code="upstream_total_timeout", provider=provider) from exc
    if response.status_code >= 400:
        error = error_from_response(response, response.content, provider, parse_oauth_error)
        if response.status_code in (400, 401, 403):
            raise AuthenticationError(error.message, code=error.code or "invalid_grant", provider=provider,
                                      source="upstream")
        raise error
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise malformed(provider, "the token answer is not JSON") from exc
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise malformed(provider, "no access_token in the token answer")
    lifetime = data.get("expires_in", ASSERTION_LIFETIME)
    return token, float(lifetime) if isinstance(lifetime, int | float) else float(ASSERTION_LIFETIME)


class TokenCache:
    """Access tokens by key, each reused until ``min(60 s, half its lifetime)`` before it expires."""

    def __init__(self, max_entries: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_entries
        self._clock = clock
        self._tokens: dict[TokenKey, tuple[str, float]] = {}
        self._locks: dict[TokenKey, asyncio.Lock] = {}

    def _fresh(self, key: TokenKey) -> str | None:
        entry = self._tokens.get(key)
        return entry[0] if entry is not None and entry[1] > self._clock() else None

    async def get(self, key: TokenKey, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> str:
        """The cached token for ``key``, or the one ``fetch`` gets (once, however many wait)."""
        token = self._fresh(key)
        if token is not None:
            return token
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                token = self._fresh(key)
                if token is not None:
                    return token
                value, lifetime = await fetch()
                self._store(key, value, self._clock() + lifetime - min(60.0, lifetime / 2))
                return value
        finally:
            if key not in self._tokens and not lock.locked():
                self._locks.pop(key, None)

    def _store(self, key: TokenKey, value: str, expires_at: float) -> None:
        self._tokens.pop(key, None)
        self._tokens[key] = (value, expires_at)
        while len(self._tokens) > self._max:
            oldest = next(iter(self._tokens))
            del self._tokens[oldest]
            lock = self._locks.get(oldest)
            if lock is not None and not lock.locked():
                del self._locks[oldest]

    def __len__(self) -> int:
        return len(self._tokens)


async def access_token(http: httpx.AsyncClient, account: ServiceAccount, timeouts: Timeouts, provider: str,
                       cache: TokenCache, scope: str = CLOUD_PLATFORM_SCOPE) -> str:
    """A valid access token for ``account``, from ``cache`` or a fresh exchange."""
    key = (account.client_email, scope, account.token_uri)
    return await cache.get(key, lambda: fetch_token(http, account, scope, timeouts, provider))
