"""MiniMax takes the model in the body only: the upstream path is fixed whatever the model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.callers.model_paths import check_fixed_path
from tests.conftest import GatewayFactory
from tests.fakes.minimax_fake import VALID_KEY, FakeMiniMax


@pytest.fixture
def fake() -> Iterator[FakeMiniMax]:
    server = FakeMiniMax().start()
    yield server
    server.stop()


def test_chat_path_is_fixed_whatever_the_model(gateway_factory: GatewayFactory, fake: FakeMiniMax) -> None:
    gw = gateway_factory(env={"MINIMAX_API_KEY": VALID_KEY, "MINIMAX_BASE_URL": fake.url + "/v1"})
    check_fixed_path(gw, fake, "minimax", "/v1/chat/completions")
