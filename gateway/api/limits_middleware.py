"""Pure-ASGI middleware: the request body gate, in front of routing and parsing.

A method the path's routes do not take is answered first, before any body is read
(``gateway.api.methods``): ``OPTIONS`` with 204 and ``Allow``, any other with the 405
envelope and ``Allow``. Every request body is read here first, counting bytes, so an oversized body is a
413 whether it announces its size (``content-length``, refused before a byte is
read) or arrives in chunks (refused as soon as the count passes the limit). A
``POST``, ``PUT`` or ``PATCH`` body must also be a JSON object: sent as
``application/json`` (or ``application/*+json``; anything else, or no content
type, is a 415; so is any ``Content-Encoding`` but ``identity``: compressed bodies are
not decoded), valid UTF-8, valid JSON without lone surrogates or integers
outside 64 bits (which the encoders further down cannot write back), with an
object at the top. Each refusal is the OpenAI error envelope naming the problem.
An accepted body is replayed to the application unchanged, and its parsed object goes along
in the scope (``PARSED_BODY``), so the routes do not parse it again (``gateway.api.parsed``);
later ``receive`` calls (disconnects) pass through.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.errors import envelope
from gateway.api.methods import RouteMethods, method_response
from gateway.api.responses import JSONResponse

_JSON_METHODS = frozenset({"POST", "PUT", "PATCH"})
_LONG_DIGIT_RUN = re.compile(rb"[0-9]{19}")
_INT64 = (-(2**63), 2**63 - 1)
_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
          type(None): "null"}


class BodyRefused(Exception):
    """A body the gateway will not pass on; carries the status and the envelope fields."""

    def __init__(self, status: int, message: str, code: str, error_type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.error_type = status, message, code, error_type

    def response(self) -> JSONResponse:
        return JSONResponse(envelope(self.message, self.error_type, None, self.code), status_code=self.status)


def _too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, f"The request body is larger than the limit of {limit} bytes.", "request_too_large")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _declared_length(scope: Scope, limit: int) -> None:
    raw = _header(scope, b"content-length")
    if raw is None:
        return
    if not raw.isdigit():
        raise BodyRefused(400, "The Content-Length header is not a number.", "invalid_content_length")
    if int(raw) > limit:
        raise _too_large(limit)


def _check_content_type(raw: bytes | None) -> None:
    if raw is not None:
        media = raw.split(b";", 1)[0].strip().lower()
        if media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json")):
            return
    shown = f"'{raw.decode('latin-1')[:100]}'" if raw is not None else "no Content-Type"
    raise BodyRefused(415, f"The request body must be JSON, sent with 'Content-Type: application/json' "
                           f"(got {shown}).", "unsupported_media_type")


def _check_content_encoding(raw: bytes | None) -> None:
    if raw is None or raw.strip().lower() in (b"", b"identity"):
        return
    shown = raw.decode("latin-1")[:100]
    raise BodyRefused(415, f"The request body must not be compressed: 'Content-Encoding: {shown}' is not supported; "
                           "send it uncompressed.", "unsupported_content_encoding")


def _bounded_int(text: str) -> int:
    value = int(text)
    if not _INT64[0] <= value <= _INT64[1]:
        shown = text if len(text) <= 30 else text[:30] + "..."
        raise BodyRefused(400, f"The request body holds the integer {shown}, outside the 64-bit range.",
                          "integer_out_of_range")
    return value


PARSED_BODY = "gateway.parsed_body"
"""The scope key under which an accepted JSON body's parsed object travels on (``gateway.api.parsed``)."""


def check_json_object(body: bytes) -> dict[str, Any]:
    """The JSON object ``body`` holds; raise ``BodyRefused`` unless it is a UTF-8 JSON object
    the gateway can re-encode.

    One orjson pass validates UTF-8 and JSON together; the body is decoded separately only to
    name the bad byte of a failure, and re-parsed only when it holds a 19-digit run (a 64-bit
    integer has at most 19 digits, and orjson quietly turns larger ones into floats)."""
    if not body.strip():
        raise BodyRefused(400, "The request body is empty; send a JSON object.", "empty_body")
    try:
        value: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyRefused(400, f"The request body is not valid UTF-8 (byte {exc.start}).",
                              "invalid_utf8") from None
        raise BodyRefused(400, "The request body is not valid JSON.", "invalid_json") from None
    if not isinstance(value, dict):
        raise BodyRefused(400, f"The request body must be a JSON object, not {_KINDS.get(type(value), 'a value')}.",
                          "invalid_body")
    if _LONG_DIGIT_RUN.search(body):
        json.loads(body, parse_int=_bounded_int)
    return value


class BodyLimitMiddleware:
    """Refuses oversized and malformed request bodies (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.methods = RouteMethods()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed = self.methods.allowed(scope)
        if allowed is not None:
            await method_response(scope, allowed)(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive)
        except BodyRefused as refused:
            await refused.response()(scope, receive, send)
            return
        if body is None:
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or ``None`` if the client went away while sending it."""
        limit = self.max_body_bytes
        _declared_length(scope, limit)
        wants_json = scope["method"] in _JSON_METHODS
        content_type = _header(scope, b"content-type")
        if wants_json:
            _check_content_encoding(_header(scope, b"content-encoding"))
        if wants_json and content_type is not None:
            _check_content_type(content_type)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if wants_json and body.strip():
            _check_content_type(content_type)
        if wants_json:
            scope[PARSED_BODY] = check_json_object(body)
        return body


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
