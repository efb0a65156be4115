"""HTTP plumbing every caller shares: JSON calls, SSE decoding, error mapping.

All providers speak through the one ``httpx.AsyncClient`` the app owns. These
helpers turn transport failures and non-2xx answers into ``GatewayError``s, so
callers only handle the happy path. Each such error is chained (``__cause__``) from
the httpx exception behind it: the transport error, or, for a non-2xx answer, an
``httpx.HTTPStatusError`` carrying the request and the response; ``describe_failure``
reads the chain back for the logs.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from gateway.callers.base import Timeouts
from gateway.errors import (
    GatewayError,
    UpstreamError,
    UpstreamTimeoutError,
    from_upstream_status,
)


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    message: str
    code: str | None = None
    param: str | None = None


ErrorParser = Callable[[Any], ErrorInfo | None]
"""Reads a provider's JSON error body; returns ``None`` if it is not that shape."""


def _as_str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def parse_common_error(body: Any) -> ErrorInfo | None:
    """The shapes most providers use: ``{"error": {"message", "code", "type", "param"}}``,
    ``{"error": "text"}``, ``{"message": ...}`` and ``{"detail": ...}``."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        message = _as_str(error.get("message")) or orjson.dumps(error).decode()
        code = _as_str(error.get("code")) or _as_str(error.get("type")) or _as_str(error.get("status"))
        return ErrorInfo(message, code, _as_str(error.get("param")))
    if isinstance(error, str):
        return ErrorInfo(error, _as_str(body.get("code") or body.get("type")))
    for key in ("message", "detail", "title"):
        value = body.get(key)
        if isinstance(value, str):
            return ErrorInfo(value, _as_str(body.get("code") or body.get("type")))
        if value is not None:
            return ErrorInfo(orjson.dumps(value).decode(), _as_str(body.get("code")))
    return None


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``Retry-After`` (seconds or HTTP date) or ``retry-after-ms``, in seconds."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import datetime as _dt

    return max(0.0, (when - _dt.datetime.now(_dt.UTC)).total_seconds())


def error_from_response(
    response: httpx.Response, body: bytes, provider: str, parse: ErrorParser = parse_common_error
) -> GatewayError:
    """The ``GatewayError`` for a non-2xx provider answer whose body has been read."""
    info: ErrorInfo | None = None
    try:
        info = parse(orjson.loads(body)) if body else None
    except orjson.JSONDecodeError:
        info = None
    if info is None:
        text = body.decode("utf-8", "replace").strip()[:500]
        info = ErrorInfo(text or f"HTTP {response.status_code} {response.reason_phrase}")
    error = from_upstream_status(
        response.status_code,
        info.message,
        provider=provider,
        code=info.code,
        param=info.param,
        retry_after=retry_after_seconds(response.headers),
    )
    try:
        request = response.request
    except RuntimeError:
        return error
    error.__cause__ = httpx.HTTPStatusError(f"HTTP {response.status_code} from upstream", request=request,
                                            response=response)
    return error


_DEFAULT_PORTS = {"https": 443, "http": 80}


def origin(url: httpx.URL) -> str:
    """``host:port`` of ``url``, the port shown even when it is the scheme's default. Never
    the path or the query, which may carry a credential (``?key=``)."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = url.port or _DEFAULT_PORTS.get(url.scheme)
    return f"{host}:{port}" if port else host


def _origin_of(exc: httpx.HTTPError) -> str | None:
    try:
        return origin(exc.request.url)
    except RuntimeError:
        return None


def _os_reason(error: OSError) -> str:
    if isinstance(error, ssl.SSLError | socket.gaierror) or not error.errno or error.errno < 0:
        return error.strerror or str(error)
    return os.strerror(error.errno)


def _chain(exc: BaseException, limit: int = 8) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < limit:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def failure_reason(exc: BaseException) -> str:
    """What went wrong under httpx, in words: the text of the first ``OSError`` in the
    exception's chain that has one (``Connection refused``, ``Name or service not known``,
    a TLS verification failure), else the first non-empty message; ``""`` if none."""
    chain = _chain(exc)
    for error in chain:
        if isinstance(error, OSError) and (text := _os_reason(error)):
            return text
    return next((text for error in chain if (text := str(error))), "")


def transport_error(exc: httpx.HTTPError, provider: str) -> GatewayError:
    """Map a transport failure (no HTTP answer) to a ``GatewayError`` chained from ``exc``,
    whose message names the cause. The upstream's ``host:port`` is for the logs only
    (``describe_failure``): a client is not shown the operator's internal addresses."""
    where = "the provider"
    reason = failure_reason(exc)
    error: GatewayError
    if isinstance(exc, httpx.PoolTimeout):
        error = UpstreamTimeoutError(f"{provider}: every connection to {where} stayed busy too long "
                                     "(GATEWAY_UPSTREAM_MAX_CONNECTIONS).", code="upstream_pool_timeout",
                                     provider=provider)
    elif isinstance(exc, httpx.TimeoutException):
        kind = "connect" if isinstance(exc, httpx.ConnectTimeout) else "read"
        error = UpstreamTimeoutError(f"{provider}: {where} did not answer in time ({kind} timeout).",
                                     code=f"upstream_{kind}_timeout", provider=provider)
    elif isinstance(exc, httpx.ConnectError):
        error = UpstreamError(f"{provider}: could not connect to {where}: {reason or type(exc).__name__}.",
                              code="upstream_connect_error", provider=provider)
    else:
        detail = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
        error = UpstreamError(f"{provider}: the connection to {where} failed ({detail}).",
                              code="upstream_connection_error", provider=provider)
    error.__cause__ = exc
    return error


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed upstream call, for the logs: ``host`` is ``host:port`` (``-`` if unknown)."""

    host: str
    cause: str


def describe_failure(error: GatewayError) -> Failure:
    """Where and why ``error`` happened, from its chain: ``HTTP 503 from upstream: <the
    provider's message>``, ``ConnectError: Connection refused``, or, for an error with no
    httpx cause (a malformed answer, the total timeout), its class and message."""
    cause = error.__cause__
    if isinstance(cause, httpx.HTTPStatusError):
        detail = error.message.removeprefix(f"{error.provider}: ")
        return Failure(origin(cause.request.url), f"HTTP {cause.response.status_code} from upstream: {detail}")
    if isinstance(cause, httpx.HTTPError):
        reason = failure_reason(cause)
        name = type(cause).__name__
        return Failure(_origin_of(cause) or "-", f"{name}: {reason}" if reason else name)
    return Failure("-", f"{type(error).__name__}: {error.message}")


def httpx_timeout(timeouts: Timeouts, *, stream: bool) -> httpx.Timeout:
    read = timeouts.stream_idle if stream else timeouts.read
    return httpx.Timeout(connect=timeouts.connect, read=read, write=timeouts.read, pool=timeouts.connect)


def malformed(provider: str, what: str) -> UpstreamError:
    return UpstreamError(f"{provider}: malformed response from the provider ({what}).",
                         code="upstream_malformed_response", provider=provider)


async def request_json(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    provider: str,
    timeouts: Timeouts,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    parse_error: ErrorParser = parse_common_error,
) -> tuple[Any, httpx.Headers]:
    """Send one request and return ``(parsed JSON body, response headers)``.

    Raises the mapped ``GatewayError`` for transport failures, non-2xx answers,
    a total time over ``timeouts.total``, and bodies that are not JSON.
    """
    content = orjson.dumps(json) if json is not None else None
    all_headers = {"content-type": "application/json", **(headers or {})} if content else dict(headers or {})
    try:
        async with asyncio.timeout(timeouts.total):
            response = await http.request(
                method, url, content=content, headers=all_headers, params=params,
                timeout=httpx_timeout(timeouts, stream=False),
            )
    except httpx.HTTPError as exc:
        raise transport_error(exc, provider) from exc
    except TimeoutError as exc:
        raise UpstreamTimeoutError(
            f"{provider}: the request took longer than {timeouts.total:g}s.", code="upstream_total_timeout",
            provider=provider,
        ) from exc
    if response.status_code >= 400:
        raise error_from_response(response, response.content, provider, parse_error)
    try:
        return orjson.loads(response.content), response.headers
    except orjson.JSONDecodeError as exc:
        raise malformed(provider, "body is not JSON") from exc


@asynccontextmanager
async def open_stream(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    provider: str,
    timeouts: Timeouts,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    parse_error: ErrorParser = parse_common_error,
) -> AsyncIterator[httpx.Response]:
    """Open a streaming request; yields the 2xx response and always closes it.

    The read timeout is ``timeouts.stream_idle``: a gap between two chunks
    longer than that ends the stream with ``UpstreamTimeoutError``.
    """
    content = orjson.dumps(json) if json is not None else None
    request = http.build_request(
        method, url, content=content, params=params,
        headers={"content-type": "application/json", "accept": "text/event-stream", **(headers or {})},
        timeout=httpx_timeout(timeouts, stream=True),
    )
    try:
        response = await http.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise transport_error(exc, provider) from exc
    try:
        if response.status_code >= 400:
            try:
                body = await response.aread()
            except httpx.HTTPError as exc:
                raise transport_error(exc, provider) from exc
            raise error_from_response(response, body, provider, parse_error)
        yield response
    finally:
        await response.aclose()


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None = None


def sse_frame(event: ServerSentEvent) -> bytes:
    """``event`` framed again as ``text/event-stream`` bytes, for relaying it as it came."""
    head = b"event: " + event.event.encode() + b"\n" if event.event else b""
    data = b"".join(b"data: " + line.encode() + b"\n" for line in event.data.split("\n"))
    return head + data + b"\n"


async def iter_sse(response: httpx.Response, provider: str) -> AsyncIterator[ServerSentEvent]:
    """Decode a ``text/event-stream`` body incrementally (WHATWG SSE rules, ``\n`` or
    ``\r\n`` line ends), working on bytes: lines are split before any decoding.

    Comment lines are skipped; an event is dispatched at each blank line (and at
    the end, if the last one was not terminated). Transport failures mid-stream
    raise the mapped ``GatewayError``.
    """
    pending = b""
    event, last_id = "", None
    data: list[str] = []
    try:
        async for chunk in response.aiter_bytes():
            lines = (pending + chunk).split(b"\n") if pending else chunk.split(b"\n")
            pending = lines.pop()
            for raw in lines:
                if raw.endswith(b"\r"):
                    raw = raw[:-1]
                if not raw:
                    if data:
                        yield ServerSentEvent(event or "message", "\n".join(data), last_id)
                    event, data = "", []
                elif raw.startswith(b"data:"):
                    data.append(raw[6:].decode() if raw[5:6] == b" " else raw[5:].decode())
                elif not raw.startswith(b":"):
                    name, _, value = raw.decode().partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "event":
                        event = value
                    elif name == "id":
                        last_id = value
    except httpx.HTTPError as exc:
        raise transport_error(exc, provider) from exc
    except UnicodeDecodeError as exc:
        raise malformed(provider, "a stream line is not UTF-8") from exc
    tail = pending.removesuffix(b"\r")
    if tail.startswith(b"data:"):
        data.append(tail[6:].decode("utf-8", "replace") if tail[5:6] == b" " else tail[5:].decode("utf-8", "replace"))
    if data:
        yield ServerSentEvent(event or "message", "\n".join(data), last_id)


def join_url(base: str, path: str) -> str:
    """``base`` and ``path`` joined with exactly one slash."""
    return base.rstrip("/") + "/" + path.lstrip("/")
