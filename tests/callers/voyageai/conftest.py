"""Fixtures: the fake Voyage AI server and a caller context pointing at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.fakes.voyageai_fake import FakeVoyage


@pytest.fixture
def fake_voyage() -> Iterator[FakeVoyage]:
    fake = FakeVoyage().start()
    yield fake
    fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client

