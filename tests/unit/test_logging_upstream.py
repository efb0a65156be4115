"""Upstream failures named for the logs: host and cause in the transport error's message,
``describe_failure`` reading the error chain back, and ``origin`` never showing a query."""

from __future__ import annotations

import socket
import ssl

import httpx
import pytest

from gateway.callers.http import Failure, describe_failure, error_from_response, failure_reason, origin, transport_error
from gateway.callers.transport import GatewayTransport
from gateway.errors import GatewayError, UpstreamError
from tests.fakes.faulty_upstream import closed_port


async def refused() -> tuple[httpx.HTTPError, int]:
    port = closed_port()
    async with httpx.AsyncClient(transport=GatewayTransport(httpx.Limits())) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.post(f"http://127.0.0.1:{port}/v1/chat/completions?key=query-secret", content=b"{}")
    return caught.value, port


async def test_a_refused_connection_names_the_cause_and_the_log_the_host() -> None:
    exc, port = await refused()
    error = transport_error(exc, "openai")
    assert error.message == "openai: could not connect to the provider: Connection refused."
    assert (error.code, error.status, error.__cause__) == ("upstream_connect_error", 502, exc)
    assert describe_failure(error) == Failure(f"127.0.0.1:{port}", "ConnectError: Connection refused")
    assert "query-secret" not in error.message


def test_an_http_error_answer_is_chained_from_the_response() -> None:
    url = "https://generativelanguage.googleapis.com/v1beta/models/x:generateContent?key=query-secret"
    response = httpx.Response(503, json={"error": {"message": "overloaded"}}, request=httpx.Request("POST", url))
    error = error_from_response(response, response.content, "gemini")
    assert isinstance(error.__cause__, httpx.HTTPStatusError) and error.message == "gemini: overloaded"
    failure = describe_failure(error)
    assert failure == Failure("generativelanguage.googleapis.com:443", "HTTP 503 from upstream: overloaded")
    bare = httpx.Response(500, content=b"")
    assert error_from_response(bare, b"", "gemini").__cause__ is None


def test_an_error_with_no_http_cause_is_described_by_its_class() -> None:
    assert describe_failure(UpstreamError("x: malformed response", provider="x")) == Failure(
        "-", "UpstreamError: x: malformed response")
    assert describe_failure(GatewayError("plain")) == Failure("-", "GatewayError: plain")


@pytest.mark.parametrize(("url", "expected"), [
    ("https://api.openai.com/v1/chat/completions", "api.openai.com:443"),
    ("http://localhost/v1", "localhost:80"),
    ("http://127.0.0.1:8080/v1?key=s3cret", "127.0.0.1:8080"),
    ("http://[::1]:11434/v1", "[::1]:11434"),
])
def test_origin_is_host_and_port_only(url: str, expected: str) -> None:
    assert origin(httpx.URL(url)) == expected


def test_failure_reason_prefers_the_os_error_in_the_chain() -> None:
    def chained(outer: Exception, inner: BaseException) -> Exception:
        outer.__cause__ = inner
        return outer

    assert failure_reason(chained(httpx.ConnectError("[Errno 111] Connect call failed"),
                                  OSError(111, "Connect call failed ('127.0.0.1', 9)"))) == "Connection refused"
    assert failure_reason(chained(httpx.ConnectError("x"), socket.gaierror(-2, "Name or service not known"))) == \
        "Name or service not known"
    tls = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    assert failure_reason(chained(httpx.ConnectError("x"), tls)) == \
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
    assert failure_reason(httpx.RemoteProtocolError("Server disconnected")) == "Server disconnected"
    assert failure_reason(chained(httpx.ConnectTimeout(""), TimeoutError())) == ""


def test_a_timeout_names_the_host_in_the_log_only() -> None:
    exc = httpx.ReadTimeout("", request=httpx.Request("POST", "https://api.anthropic.com/v1/messages"))
    error = transport_error(exc, "anthropic")
    assert error.message == "anthropic: the provider did not answer in time (read timeout)."
    assert describe_failure(error) == Failure("api.anthropic.com:443", "ReadTimeout")
    other = transport_error(httpx.ReadError("connection reset", request=exc.request), "anthropic")
    assert other.message == "anthropic: the connection to the provider failed (ReadError: connection reset)."
    assert transport_error(httpx.ConnectError("boom"), "x").message == "x: could not connect to the provider: boom."
