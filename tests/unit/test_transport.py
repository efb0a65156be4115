"""The shared client's pool: connections are reused, and concurrency opens no more than it needs."""

from __future__ import annotations

import asyncio

import httpx

from gateway.callers.transport import GatewayTransport
from tests.fakes.openai_fake import VALID_KEY, FakeOpenAI

HEADERS = {"authorization": f"Bearer {VALID_KEY}"}


async def test_connections_are_reused_across_sequential_and_concurrent_requests(fake_openai: FakeOpenAI) -> None:
    limits = httpx.Limits(max_keepalive_connections=8)
    async with httpx.AsyncClient(transport=GatewayTransport(limits), base_url=fake_openai.url) as client:
        for _ in range(5):
            assert (await client.get("/v1/models", headers=HEADERS)).status_code == 200
        assert len({r.client_port for r in fake_openai.requests}) == 1
        responses = await asyncio.gather(*(client.get("/v1/models", headers=HEADERS) for _ in range(20)))
        assert all(r.status_code == 200 for r in responses)
        concurrent_ports = {r.client_port for r in fake_openai.requests[5:]}
        assert 1 <= len(concurrent_ports) <= 20
        fake_openai.requests.clear()
        for _ in range(10):
            await client.get("/v1/models", headers=HEADERS)
        assert len({r.client_port for r in fake_openai.requests}) == 1, "an idle pooled connection is reused"


async def test_connection_errors_surface_as_httpx_errors() -> None:
    async with httpx.AsyncClient(transport=GatewayTransport(httpx.Limits())) as client:
        try:
            await client.get("http://127.0.0.1:9/")
        except httpx.ConnectError:
            return
    raise AssertionError("a refused connection must raise httpx.ConnectError")
