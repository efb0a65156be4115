"""Fixtures: the fake Cohere server and a caller context pointing at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.fakes.cohere_fake import FakeCohere


@pytest.fixture
def fake_cohere() -> Iterator[FakeCohere]:
    fake = FakeCohere().start()
    yield fake
    fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client

