"""Pure-ASGI middleware: the record of every ``/v1/*`` request refused before the service took it.

It sits just inside ``RequestIdMiddleware`` (whose request id and ``Timing`` it uses) and outside
the auth and body gates, so one place sees every refusal: 401, 429 and 503 at the door
(``AuthMiddleware``), 400, 405, 413 and 415 at the body gate, 404 from routing, validation
errors and other ``GatewayError``s raised by routes and their dependencies, 500s from
``UnhandledErrorMiddleware``. A response with status >= 400 to a ``/v1/`` path whose request the
service did not take (``Timing.recorded``: the service records those itself) leaves one FAILED
record with the envelope's ``error.type`` and ``error.message``, handed to the service's record
sink (the record writer's queue, which journals it): no database round trip on the request path.

A 401 (no key, or a wrong one) leaves no record: whoever sent it is no client of the gateway, and a
flood of unauthenticated requests must not become a flood of rows (the dashboard's own requests
before its operator logs in are such); the access log has each one. The other refusals at the door,
before a caller is admitted (a key over its request rate, a key store that never answered), are
recorded at most ``DOOR_RECORDS_PER_MINUTE`` a minute per process; the next one recorded gives
the number left out in its metadata (``unrecorded_refusals``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.datastructures import State
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.auth_middleware import ADMISSION, Admission
from gateway.service.tracking import CallInfo, Timing

DOOR_RECORDS_PER_MINUTE = 60
_MAX_BODY = 64 * 1024
_MAX_NAME = 64
_MAX_FIELD = 256
_KNOWN_MAX = 1024


class DoorBudget:
    """At most ``per_minute`` records a minute for refusals at the door; counts the rest."""

    def __init__(self, per_minute: int = DOOR_RECORDS_PER_MINUTE, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._window_end = 0.0
        self._used = 0
        self._skipped = 0

    def take(self) -> int | None:
        """``None`` when over budget (the refusal is counted as left out); otherwise the number left
        out since the last one taken."""
        now = self._clock()
        if now >= self._window_end:
            self._window_end, self._used = now + 60.0, 0
        if self._used >= self._per_minute:
            self._skipped += 1
            return None
        self._used += 1
        skipped, self._skipped = self._skipped, 0
        return skipped


class EndpointNames:
    """A request's endpoint as records name it: a route's own path under ``/v1/`` with dots for
    slashes (``/v1/chat/completions``: ``chat.completions``); for a path with parameters, the
    route's template once routing found it (``/v1/models/{model_id}``); otherwise the path itself.
    Whether a path refused before routing is a route's is asked of the routes (remembered, bounded)."""

    def __init__(self) -> None:
        self._known: dict[str, bool] = {}

    def of(self, scope: Scope) -> str:
        path: str = scope["path"]
        template = getattr(scope.get("route"), "path", None)
        if isinstance(template, str):
            return template[:_MAX_NAME] if "{" in template else _dotted(template)
        return _dotted(path) if self._is_route(scope) else path[:_MAX_NAME]

    def _is_route(self, scope: Scope) -> bool:
        path: str = scope["path"]
        known = self._known.get(path)
        if known is None:
            routes: list[BaseRoute] = list(getattr(getattr(scope.get("app"), "router", None), "routes", ()))
            known = any(route.matches({**scope, "method": method})[0] is Match.FULL
                        for route in routes for method in ("POST", "GET"))
            if len(self._known) >= _KNOWN_MAX:
                self._known.clear()
            self._known[path] = known
        return known


def _dotted(path: str) -> str:
    return path.removeprefix("/v1/").replace("/", ".")[:_MAX_NAME] if path.startswith("/v1/") else path[:_MAX_NAME]


def error_of(body: bytes) -> tuple[str | None, str | None]:
    """``error.type`` and ``error.message`` of an OpenAI error envelope; ``None`` for what is not there."""
    try:
        error = orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return None, None
    if not isinstance(error, dict):
        return None, None
    kind, message = error.get("type"), error.get("message")
    return (kind[:_MAX_NAME] if isinstance(kind, str) else None,
            message if isinstance(message, str) else None)


@dataclass(slots=True)
class _Refusal:
    """A refusal being answered: its response start is held until its first body part, so that
    the record is made before the head goes out and head and body still leave back to back."""

    status: int
    start: Message | None
    body: bytes = b""


class RefusalRecorder:
    """Records refused ``/v1/*`` requests (see the module docstring). ``state`` is the app's state,
    holding ``service`` once started."""

    def __init__(self, app: ASGIApp, state: State, door_per_minute: int = DOOR_RECORDS_PER_MINUTE) -> None:
        self.app = app
        self._state = state
        self._door = DoorBudget(door_per_minute)
        self._names = EndpointNames()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        timing = scope.get("state", {}).get("timing")
        if scope["type"] != "http" or not scope["path"].startswith("/v1/") or not isinstance(timing, Timing):
            await self.app(scope, receive, send)
            return
        refusal: _Refusal | None = None

        async def watched(message: Message) -> None:
            nonlocal refusal
            if message["type"] == "http.response.start":
                if message["status"] >= 400 and message["status"] != 401 and not timing.recorded:
                    refusal = _Refusal(message["status"], message)
                    return
            elif message["type"] == "http.response.body" and refusal is not None:
                if len(refusal.body) < _MAX_BODY:
                    refusal.body += message.get("body", b"")
                if not message.get("more_body", False):
                    self._record(scope, timing, refusal)
                if refusal.start is not None:
                    await send(refusal.start)
                    refusal.start = None
            await send(message)

        await self.app(scope, receive, watched)

    def _record(self, scope: Scope, timing: Timing, refusal: _Refusal) -> None:
        service = getattr(self._state, "service", None)
        state: dict[str, Any] = scope.get("state", {})
        admission: Admission | None = state.get(ADMISSION)
        metadata = _metadata(scope)
        if admission is None:
            skipped = self._door.take()
            if skipped is None:
                return
            if skipped:
                metadata["unrecorded_refusals"] = skipped
        if service is None:
            return
        key = admission.principal.key if admission is not None else None
        info = CallInfo(request_id=state.get("request_id", ""), endpoint=self._names.of(scope),
                        started_ns=timing.started_ns, metadata=metadata, key_id=key.id if key else None,
                        timing=timing)
        error_type, message = error_of(refusal.body)
        service.refused(info, refusal.status, error_type, message)


def _metadata(scope: Scope) -> dict[str, Any]:
    metadata: dict[str, Any] = {"method": str(scope.get("method", ""))[:16]}
    for name, value in scope.get("headers", ()):
        if name == b"user-agent":
            metadata["user_agent"] = value.decode("latin-1")[:_MAX_FIELD]
            break
    return metadata
