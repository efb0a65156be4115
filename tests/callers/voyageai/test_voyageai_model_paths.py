"""Voyage AI takes the model in the body only: the upstream paths are fixed whatever the model."""

from __future__ import annotations

from tests.callers.model_paths import check_fixed_path, embed
from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.voyageai_fake import VALID_KEY, FakeVoyage


def rerank(gw: RunningGateway, model: str) -> object:
    return gw.http.post("/v1/rerank", json={"model": model, "query": "q", "documents": ["a", "b"]})


def test_embedding_and_rerank_paths_are_fixed_whatever_the_model(gateway_factory: GatewayFactory,
                                                                 fake_voyage: FakeVoyage) -> None:
    gw = gateway_factory(env={"VOYAGE_API_KEY": VALID_KEY, "VOYAGE_BASE_URL": fake_voyage.url})
    check_fixed_path(gw, fake_voyage, "voyageai", "/v1/embeddings", send=embed)
    check_fixed_path(gw, fake_voyage, "voyageai", "/v1/rerank", send=rerank)
