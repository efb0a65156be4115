"""OpenAI takes the model in the body only: the upstream path is fixed whatever the model."""

from __future__ import annotations

from tests.callers.model_paths import check_fixed_path, embed
from tests.conftest import RunningGateway
from tests.fakes.openai_fake import FakeOpenAI


def test_chat_and_embedding_paths_are_fixed_whatever_the_model(gateway: RunningGateway,
                                                               fake_openai: FakeOpenAI) -> None:
    check_fixed_path(gateway, fake_openai, "openai", "/v1/chat/completions")
    check_fixed_path(gateway, fake_openai, "openai", "/v1/embeddings", send=embed)
