from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.openai_compatible_fake import FakeCompatible


@pytest.fixture(scope="module")
def _compatible_server() -> Iterator[FakeCompatible]:
    fake = FakeCompatible()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_compatible(_compatible_server: FakeCompatible) -> FakeCompatible:
    """The module's fake server with a clean log, no scripted answers and keys required."""
    _compatible_server.reset()
    return _compatible_server
