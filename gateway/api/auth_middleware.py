"""Pure-ASGI middleware: who is calling, decided from the headers before a byte of the body is read.

It sits outside the body gate (``BodyLimitMiddleware``), so a request the gateway will refuse
for its key costs only its headers: no body is received, parsed or buffered beyond what the
server holds before the application asks for it. Every path needs a key except the public ones
(``PUBLIC_PATHS``, ``PUBLIC_PREFIXES``: health, the dashboard's page and assets, the API
reference, ``/``); a request to a public path that declares a body is refused (413), since none
of them takes one, without reading it.

For every other path ``admit`` authenticates the presented key (in memory; see ``KeyRing``),
then applies the key's per-request limits (``admit_request``: RPM, and a token window that is
already full). A refusal is the OpenAI error envelope with the status and code the route
dependencies used to give (401, 503 while the key store has never answered, 429 with
``Retry-After``); otherwise the ``Admission`` goes into the request's scope state, where the
route dependencies find it: each request is authenticated once. Admin checks (403) stay with
the routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers, State
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.errors import envelope, error_response
from gateway.api.responses import JSONResponse
from gateway.errors import GatewayError
from gateway.service.keys import KeyRing, Principal
from gateway.service.limits import Grant, Limiter, admit_request

ADMISSION = "admission"
"""The scope-state key holding the request's ``Admission``."""

PUBLIC_PATHS = frozenset({"/", "/healthz", "/readyz", "/dashboard", "/docs", "/docs/oauth2-redirect", "/redoc",
                          "/openapi.json"})
PUBLIC_PREFIXES = ("/dashboard/static/", "/static-offline-docs/")


@dataclass(frozen=True, slots=True)
class Admission:
    """An authenticated caller; ``request_grant`` is the request counted against its key's RPM."""

    principal: Principal
    request_grant: Grant | None = None


def presented_key(headers: Headers) -> str | None:
    """The key a client presented: ``Authorization: Bearer``, ``api-key`` or ``x-api-key``."""
    auth = headers.get("authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return headers.get("api-key") or headers.get("x-api-key")


async def admit(keyring: KeyRing, limiter: Limiter, headers: Headers) -> Admission:
    """Authenticate the caller and apply its key's per-request limits; raises the ``GatewayError``
    the client gets (401, 503, 429)."""
    principal = await keyring.authenticate(presented_key(headers))
    key = principal.key
    if key is None or not (key.rpm or key.tpm):
        return Admission(principal)
    return Admission(principal, await admit_request(limiter, key.id, key.rpm, key.tpm))


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _declares_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    return "transfer-encoding" in headers or (length is not None and length.strip() not in ("", "0"))


class AuthMiddleware:
    """Authenticates each request from its headers before the body gate (see the module docstring).
    ``state`` is the application's state, holding ``keyring`` and ``limiter`` once started."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if is_public(_route_path(scope)):
            if _declares_body(headers):
                await _no_body()(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        try:
            admission = await admit(self._state.keyring, self._state.limiter, headers)
        except GatewayError as exc:
            await error_response(exc)(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        state[ADMISSION] = admission
        await self.app(scope, receive, send)


def _no_body() -> JSONResponse:
    return JSONResponse(envelope("This endpoint takes no request body.", "invalid_request_error", None,
                                 "request_too_large"), status_code=413)
