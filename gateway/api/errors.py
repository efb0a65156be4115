"""Every error the HTTP API returns is the OpenAI envelope with the right status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.api.responses import JSONResponse
from gateway.errors import GatewayError

_HTTP_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


def envelope(message: str, error_type: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def error_response(exc: GatewayError) -> JSONResponse:
    """The OpenAI envelope for ``exc`` with its headers (``Retry-After``); ``RequestIdMiddleware``
    adds ``x-request-id``."""
    return JSONResponse(exc.envelope(), status_code=exc.status, headers=exc.headers())


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(x) for x in loc if x not in ("body", "query", "path")]
    out = ""
    for part in parts:
        if part.isdigit():
            out += f"[{part}]"
        elif part.startswith("function-after") or part.startswith("tagged-union"):
            continue
        else:
            out += ("." if out else "") + part
    return out


def _body_location(loc: tuple[Any, ...], body: Any, missing: bool) -> str:
    """The field ``loc`` points at, found by walking ``body``: pydantic's union member labels
    (``str``, ``list[str]``, a discriminator tag) name no key of the body and are left out; so
    is a mapping key whose own text failed (``metadata.<key>.[key]`` names ``metadata``). Only a
    missing field's name is kept without being in the body."""
    node, out = body, ""
    parts = list(loc[1:])
    for i, part in enumerate(parts):
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            out, node = out + f"[{part}]", node[part]
        elif isinstance(part, str) and isinstance(node, dict) and part in node:
            if i + 1 < len(parts) and parts[i + 1] == "[key]":
                break
            out, node = out + ("." if out else "") + part, node[part]
        elif missing and i == len(parts) - 1:
            out += ("." if out else "") + str(part)
    return out


def _param(error: dict[str, Any], body: Any) -> str:
    loc = tuple(error.get("loc", ()))
    if loc[:1] == ("body",) and isinstance(body, dict):
        return _body_location(loc, body, error.get("type") == "missing")
    return _location(loc)


def validation_message(errors: list[dict[str, Any]], body: Any = None) -> tuple[str, str | None]:
    """One readable sentence from pydantic's errors; the first error's field is the param.
    ``body``, the request body as parsed, lets fields be named as the client wrote them;
    the alternatives a union offered for one field are joined with "or"."""
    if not errors:
        return "Invalid request body.", None
    first = errors[0]
    param = _param(first, body) or None
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON.", None
    if first.get("type") == "missing":
        return f"Missing required parameter: '{param}'.", param
    described: dict[str, list[str]] = {}
    for error in errors:
        messages = described.setdefault(_param(error, body), [])
        message = ("a key: " if "[key]" in error.get("loc", ()) else "") + str(error.get("msg"))
        if message not in messages:
            messages.append(message)
    shown = [f"'{where}': {' or '.join(messages)}" for where, messages in list(described.items())[:3]]
    more = f" (and {len(described) - 3} more)" if len(described) > 3 else ""
    return "Invalid request: " + "; ".join(shown) + more + ".", param


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
        return error_response(exc)  # RequestIdMiddleware adds the x-request-id header, once

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = validation_message(list(exc.errors()), exc.body)
        return JSONResponse(envelope(message, "invalid_request_error", param, "invalid_request"), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error_type = _HTTP_TYPES.get(exc.status_code, "invalid_request_error" if exc.status_code < 500 else
                                     "server_error")
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404:
            message = f"Unknown endpoint: {request.method} {request.url.path}"
        return JSONResponse(envelope(message, error_type), status_code=exc.status_code,
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        """Only for exceptions from outside ``UnhandledErrorMiddleware`` (which answers and logs the
        rest): Starlette sends this answer, then re-raises to the server, which logs the traceback."""
        return JSONResponse(envelope("Internal server error.", "server_error", None, "internal_error"),
                              status_code=500)
