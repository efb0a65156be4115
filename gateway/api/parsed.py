"""Request bodies parsed once: the body gate (``gateway.api.limits_middleware``) has parsed every
accepted JSON body already, and routes built with ``GatewayRoute`` take that object instead of
parsing the bytes again (FastAPI's own body reading calls ``Request.json``).

The gate refuses what the two parsers would read differently (integers beyond 64 bits, which
``orjson`` turns into floats; invalid UTF-8 and lone surrogates), so the object is the one
``json.loads`` would make.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from gateway.api.limits_middleware import PARSED_BODY


class ParsedBodyRequest(Request):
    async def json(self) -> Any:
        parsed = self.scope.get(PARSED_BODY)
        return parsed if parsed is not None else await super().json()



async def parsed_body(request: Request) -> Any:
    """The request's JSON body, as the body gate parsed it (parsed here only for an application
    mounted without the gate)."""
    parsed = request.scope.get(PARSED_BODY)
    return parsed if parsed is not None else orjson.loads(await request.body())


class GatewayRoute(APIRoute):
    """An ``APIRoute`` whose handler reads the body gate's parsed object (``ParsedBodyRequest``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parsed_once(request: Request) -> Response:
            return await handler(ParsedBodyRequest(request.scope, request.receive))

        return parsed_once
