"""End to end: the official ``openai`` SDK and plain HTTP against the running gateway, Voyage AI behind it."""

from __future__ import annotations

import base64
import struct
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.conftest import GatewayFactory, RunningGateway
from tests.fakes.voyageai_fake import VALID_KEY, FakeVoyage, fake_vector, voyage_error


@pytest.fixture
def gw(gateway_factory: GatewayFactory, fake_voyage: FakeVoyage) -> RunningGateway:
    return gateway_factory(env={"VOYAGE_API_KEY": VALID_KEY, "VOYAGE_BASE_URL": fake_voyage.url})


@pytest.fixture
def client(gw: RunningGateway) -> OpenAI:
    return OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0, timeout=20)


def records(gw: RunningGateway, endpoint: str) -> list[dict[str, Any]]:
    return [r for r in gw.records() if r["endpoint"] == endpoint]


def test_embeddings_base64_default_and_float(client: OpenAI, gw: RunningGateway, fake_voyage: FakeVoyage) -> None:
    default = client.embeddings.create(model="voyageai/voyage-3.5", input=["alpha", "beta gamma"], dimensions=6)
    assert fake_voyage.last.body == {"input": ["alpha", "beta gamma"], "model": "voyage-3.5", "output_dimension": 6}
    expected = [pytest.approx(fake_vector(t, 6), abs=1e-6) for t in ("alpha", "beta gamma")]
    assert [d.embedding for d in default.data] == expected
    assert [d.index for d in default.data] == [0, 1]
    assert (default.usage.prompt_tokens, default.usage.total_tokens) == (3, 3)
    floats = client.embeddings.create(model="voyageai/voyage-3.5", input="alpha", encoding_format="float",
                                      dimensions=6)
    assert floats.data[0].embedding == expected[0]
    raw = gw.http.post("/v1/embeddings", json={"model": "voyageai/voyage-3.5", "input": "alpha",
                                               "encoding_format": "base64", "dimensions": 6}).json()
    assert list(struct.unpack("<6f", base64.b64decode(raw["data"][0]["embedding"]))) == expected[0]
    row = records(gw, "embeddings")[0]
    assert (row["provider"], row["status"], row["input_tokens"], row["total_tokens"]) == ("voyageai", "SUCCESS", 1, 1)


def test_rerank(gw: RunningGateway, fake_voyage: FakeVoyage) -> None:
    documents = ["bananas are yellow", "paris is the capital of france", "the capital city", "cats"]
    response = gw.http.post("/v1/rerank", json={"model": "voyageai/rerank-2.5", "query": "capital of france",
                                                "documents": documents, "top_n": 2, "return_documents": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "voyageai/rerank-2.5" and body["id"]
    assert [(r["index"], r["document"]["text"]) for r in body["results"]] == [(1, documents[1]), (2, documents[2])]
    scores = [r["relevance_score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert body["usage"]["total_tokens"] == 16
    assert fake_voyage.last.body == {"query": "capital of france", "documents": documents, "model": "rerank-2.5",
                                     "top_k": 2}
    row = records(gw, "rerank")[0]
    assert (row["provider"], row["status"], row["http_status"], row["total_tokens"]) == (
        "voyageai", "SUCCESS", 200, 16)


def test_errors_map_to_openai_exceptions(client: OpenAI, gw: RunningGateway, fake_voyage: FakeVoyage) -> None:
    fake_voyage.enqueue(voyage_error(429, "Rate limit exceeded", {"retry-after": "5"}))
    with pytest.raises(openai.RateLimitError) as limited:
        client.embeddings.create(model="voyageai/voyage-3.5", input="x")
    assert limited.value.response.headers["retry-after"] == "5"
    fake_voyage.enqueue(voyage_error(500, "Internal error"))
    with pytest.raises(openai.InternalServerError) as failed:
        client.embeddings.create(model="voyageai/voyage-3.5", input="x")
    assert failed.value.status_code == 502
    fake_voyage.enqueue(voyage_error(401, "Provided API key is invalid."))
    with pytest.raises(openai.AuthenticationError) as denied:
        client.embeddings.create(model="voyageai/voyage-3.5", input="x")
    assert "Provided API key is invalid." in denied.value.message
    assert sorted(r["http_status"] for r in records(gw, "embeddings") if r["status"] == "FAILED") == [401, 429, 502]


def test_chat_is_refused_and_unknown_parameters_are_400(client: OpenAI, gw: RunningGateway) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="voyageai/voyage-3.5", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="voyageai/voyage-3.5", input="x", user="someone")
    assert caught.value.body["param"] == "user"  # type: ignore[index]


def test_verify_through_the_gateway(gw: RunningGateway, fake_voyage: FakeVoyage) -> None:
    assert gw.http.post("/v1/credentials/verify", json={"provider": "voyageai"}).json()["valid"] is True
    bad = gw.http.post("/v1/credentials/verify", json={
        "provider": "voyageai", "credential": {"key": "wrong", "base_url": fake_voyage.url}}).json()
    assert bad["valid"] is False
