"""Mistral takes the model in the body only: the upstream path is fixed whatever the model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.callers.model_paths import check_fixed_path, embed
from tests.conftest import GatewayFactory
from tests.fakes.mistral_fake import VALID_KEY, FakeMistral


@pytest.fixture
def fake() -> Iterator[FakeMistral]:
    server = FakeMistral().start()
    yield server
    server.stop()


def test_chat_and_embedding_paths_are_fixed_whatever_the_model(gateway_factory: GatewayFactory,
                                                               fake: FakeMistral) -> None:
    gw = gateway_factory(env={"MISTRAL_API_KEY": VALID_KEY, "MISTRAL_BASE_URL": fake.url})
    check_fixed_path(gw, fake, "mistral", "/v1/chat/completions")
    check_fixed_path(gw, fake, "mistral", "/v1/embeddings", send=embed)
