"""Which methods a path takes, asked of the app's routes before the body gate reads a body.

``RouteMethods.allowed(scope)`` is ``None`` when some route takes the request as it is (or no
route has its path: routing answers the 404), and otherwise the methods the path's
routes take, each found by asking every route whether it fully matches the request
under that method (Starlette's ``BaseRoute.matches``), plus ``OPTIONS``, which the gate
answers itself. Full matches are remembered per method and path (a bounded table), so a
request the routes take costs one lookup; routes must not change once serving starts.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from gateway.api.errors import envelope
from gateway.api.responses import JSONResponse

_PROBED = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_TAKEN_MAX = 4096


def _routes(scope: Scope) -> list[BaseRoute]:
    router = getattr(scope.get("app"), "router", None)
    return list(getattr(router, "routes", ()))


def _matches(routes: list[BaseRoute], scope: Scope) -> Match:
    best = Match.NONE
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return match
        if match is Match.PARTIAL:
            best = match
    return best


class RouteMethods:
    """The methods of one app's paths; one instance per app (it remembers full matches)."""

    def __init__(self) -> None:
        self._taken: set[tuple[str, str]] = set()

    def allowed(self, scope: Scope) -> tuple[str, ...] | None:
        """``None`` if a route takes this request or no route has its path; else the path's methods."""
        key = (scope["method"], scope["path"])
        if key in self._taken:
            return None
        routes = _routes(scope)
        match = _matches(routes, scope)
        if match is Match.FULL:
            if len(self._taken) >= _TAKEN_MAX:
                self._taken.clear()
            self._taken.add(key)
            return None
        if match is Match.NONE:
            return None
        taken = tuple(m for m in _PROBED if _matches(routes, {**scope, "method": m}) is Match.FULL)
        return (*taken, "OPTIONS")


def method_response(scope: Scope, allowed: tuple[str, ...]) -> Response:
    """``OPTIONS``: 204 with ``Allow``; any other method: the 405 envelope with ``Allow``."""
    allow = {"allow": ", ".join(allowed)}
    if scope["method"] == "OPTIONS":
        return Response(status_code=204, headers=allow)
    path = scope["path"] if len(scope["path"]) <= 200 else scope["path"][:200] + "..."
    message = f"Method {scope['method']} is not allowed on {path}; allowed: {allow['allow']}."
    return JSONResponse(envelope(message, "invalid_request_error", None, "method_not_allowed"), status_code=405,
                        headers=allow)
