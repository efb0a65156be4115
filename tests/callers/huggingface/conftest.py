from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.fakes.huggingface_fake import FakeHuggingFace


@pytest.fixture
def fake_hf() -> Iterator[FakeHuggingFace]:
    fake = FakeHuggingFace().start()
    yield fake
    fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
