from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.azure_fake import FakeAzureOpenAI


@pytest.fixture(scope="module")
def _azure_server() -> Iterator[FakeAzureOpenAI]:
    fake = FakeAzureOpenAI()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_azure(_azure_server: FakeAzureOpenAI) -> FakeAzureOpenAI:
    """The module's fake Azure server with a clean log and no scripted answers."""
    _azure_server.reset()
    return _azure_server
