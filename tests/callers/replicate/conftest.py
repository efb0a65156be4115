from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.fakes.replicate_fake import FakeReplicate


@pytest.fixture
def fake_replicate() -> Iterator[FakeReplicate]:
    fake = FakeReplicate().start()
    yield fake
    fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
