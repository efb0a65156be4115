"""The shared client's transport: connections reused, the per-origin cap enforced with a pool
timeout that says so, stale keep-alive connections replaced, resends only where they cannot do the
work twice, and TLS against a local server with its own CA."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import trustme

from gateway.callers.transport import GatewayTransport
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI
from tests.fakes.server import Scripted

HEADERS = {"authorization": f"Bearer {VALID_KEY}"}
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


@dataclass
class RawServer:
    """A minimal HTTP/1.1 server on loopback whose behaviour per request a test decides: each
    handler gets the connection's request number (0, 1, ...) and the writer, and answers or not."""

    answer: Callable[[int, asyncio.StreamWriter], Awaitable[bool]]
    connections: int = 0
    requests: int = 0
    open_now: int = 0
    most_open: int = 0
    url: str = ""
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            number = 0
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                self.requests += 1
                if not await self.answer(number, writer):
                    break
                number += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            writer.close()


@asynccontextmanager
async def raw_server(answer: Callable[[int, asyncio.StreamWriter], Awaitable[bool]],
                     ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[RawServer]:
    server = RawServer(answer)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=ssl_context)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"{'https' if ssl_context else 'http'}://{'localhost' if ssl_context else '127.0.0.1'}:{port}/"
    async with listener:
        yield server


async def answer_ok(number: int, writer: asyncio.StreamWriter) -> bool:
    writer.write(OK)
    await writer.drain()
    return True


def client(transport: GatewayTransport, pool: float | None = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5.0, pool=pool))


async def test_sequential_requests_share_one_connection(fake_openai: FakeOpenAI) -> None:
    async with client(GatewayTransport(httpx.Limits(max_keepalive_connections=8))) as http:
        for _ in range(5):
            assert (await http.get(fake_openai.url + "/v1/models", headers=HEADERS)).status_code == 200
    assert len({r.client_port for r in fake_openai.requests}) == 1


async def test_concurrency_never_opens_more_than_the_cap(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(*(Scripted(json={"object": "list", "data": []}, delay=0.2) for _ in range(12)))
    transport = GatewayTransport(httpx.Limits(max_connections=3, max_keepalive_connections=3))
    async with client(transport) as http:
        pending = [asyncio.ensure_future(http.get(fake_openai.url + "/v1/models", headers=HEADERS))
                   for _ in range(12)]
        await asyncio.sleep(0.1)
        assert transport.open_connections(fake_openai.url) == 3
        responses = await asyncio.gather(*pending)
    assert [r.status_code for r in responses] == [200] * 12
    assert len({r.client_port for r in fake_openai.requests}) == 3


async def test_waiting_past_the_pool_timeout_fails_naming_the_setting() -> None:
    release = asyncio.Event()

    async def slow(number: int, writer: asyncio.StreamWriter) -> bool:
        await release.wait()
        return await answer_ok(number, writer)

    async with raw_server(slow) as server:
        transport = GatewayTransport(httpx.Limits(max_connections=1))
        async with client(transport, pool=0.2) as http:
            first = asyncio.ensure_future(http.get(server.url))
            await asyncio.sleep(0.05)
            with pytest.raises(httpx.PoolTimeout) as caught:
                await http.get(server.url)
            assert "GATEWAY_UPSTREAM_MAX_CONNECTIONS" in str(caught.value)
            release.set()
            assert (await first).status_code == 200
            assert (await http.get(server.url)).status_code == 200
    assert server.connections == 1


async def test_waiters_are_served_in_turn_on_the_one_connection() -> None:
    async def paced(number: int, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.02)
        return await answer_ok(number, writer)

    async with raw_server(paced) as server, client(GatewayTransport(httpx.Limits(max_connections=1))) as http:
        responses = await asyncio.gather(*(http.get(server.url) for _ in range(6)))
    assert [r.text for r in responses] == ["ok"] * 6
    assert (server.connections, server.requests, server.most_open) == (1, 6, 1)


async def test_a_connection_the_server_closed_while_idle_is_replaced() -> None:
    async def then_close(number: int, writer: asyncio.StreamWriter) -> bool:
        await answer_ok(number, writer)
        return False

    async with raw_server(then_close) as server, client(GatewayTransport(httpx.Limits())) as http:
        assert (await http.get(server.url)).text == "ok"
        await asyncio.sleep(0.1)
        assert (await http.post(server.url, content=b"{}")).text == "ok"
    assert (server.connections, server.requests) == (2, 2)


@pytest.mark.parametrize(("method", "resent"), [("GET", True), ("POST", False)])
async def test_a_reused_connection_that_drops_a_request_resends_only_what_is_safe(method: str, resent: bool) -> None:
    async def drop_the_second(number: int, writer: asyncio.StreamWriter) -> bool:
        if number == 0:
            return await answer_ok(number, writer)
        return False

    async with raw_server(drop_the_second) as server, client(GatewayTransport(httpx.Limits())) as http:
        assert (await http.get(server.url)).text == "ok"
        if resent:
            assert (await http.request(method, server.url)).text == "ok"
        else:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.request(method, server.url, content=b"{}")
    assert server.requests == (3 if resent else 2)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def test_tls_to_a_server_of_a_trusted_ca_and_its_connection_reused(ca: trustme.CA) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    transport = GatewayTransport(httpx.Limits(), ssl_context=client_context)
    async with raw_server(answer_ok, server_context) as server, client(transport) as http:
        for _ in range(3):
            response = await http.get(server.url)
            assert response.text == "ok"
    assert (server.connections, server.requests) == (1, 3)


async def test_tls_to_an_untrusted_server_is_a_connect_error(ca: trustme.CA) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    transport = GatewayTransport(httpx.Limits(), ssl_context=ssl.create_default_context())
    async with raw_server(answer_ok, server_context) as server, client(transport) as http:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.get(server.url)


async def test_connection_errors_surface_as_httpx_errors() -> None:
    async with client(GatewayTransport(httpx.Limits())) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("http://127.0.0.1:9/")


async def test_a_large_streamed_body_arrives_whole() -> None:
    body = bytes(range(256)) * 40_000

    async def big(number: int, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        return True

    async with (raw_server(big) as server, client(GatewayTransport(httpx.Limits())) as http,
                http.stream("GET", server.url) as response):
        received = b"".join([part async for part in response.aiter_raw()])
    assert received == body
