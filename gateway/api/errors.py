"""Every error the HTTP API returns is the OpenAI envelope with the right status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.api.responses import JSONResponse
from gateway.errors import GatewayError

log = logging.getLogger("gateway.api")

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


def error_response(exc: GatewayError, request_id: str | None = None) -> JSONResponse:
    headers = exc.headers()
    if request_id:
        headers["x-request-id"] = request_id
    return JSONResponse(exc.envelope(), status_code=exc.status, headers=headers)


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


def validation_message(errors: list[dict[str, Any]]) -> tuple[str, str | None]:
    """One readable sentence from pydantic's errors; the first error's field is the param."""
    if not errors:
        return "Invalid request body.", None
    first = errors[0]
    param = _location(tuple(first.get("loc", ()))) or None
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON.", None
    if first.get("type") == "missing":
        return f"Missing required parameter: '{param}'.", param
    described = [f"'{_location(tuple(e.get('loc', ())))}': {e.get('msg')}" for e in errors[:3]]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "Invalid request: " + "; ".join(described) + more + ".", param


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
        return error_response(exc, getattr(request.state, "request_id", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = validation_message(list(exc.errors()))
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
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(envelope("Internal server error.", "server_error", None, "internal_error"),
                              status_code=500)
