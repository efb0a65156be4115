"""Cohere takes the model in the body only: the upstream paths are fixed whatever the model."""

from __future__ import annotations

from tests.callers.model_paths import check_fixed_path, embed
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.cohere_fake import VALID_KEY, FakeCohere


def rerank(gw: RunningGateway, model: str) -> object:
    return gw.http.post("/v1/rerank", json={"model": model, "query": "q", "documents": ["a", "b"]})


def test_chat_embed_and_rerank_paths_are_fixed_whatever_the_model(gateway_factory: GatewayFactory,
                                                                  fake_cohere: FakeCohere) -> None:
    gw = gateway_factory(env={"COHERE_API_KEY": VALID_KEY, "COHERE_BASE_URL": fake_cohere.url})
    check_fixed_path(gw, fake_cohere, "cohere", "/v2/chat")
    check_fixed_path(gw, fake_cohere, "cohere", "/v2/embed", send=embed)
    check_fixed_path(gw, fake_cohere, "cohere", "/v2/rerank", send=rerank)
