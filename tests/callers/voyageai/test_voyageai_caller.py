"""The Voyage AI callers: pure translation, and against the fake Voyage server over real HTTP on loopback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.callers.base import CredentialVerifierOptions, EmbeddingOptions, RequestContext, RerankerOptions
from gateway.callers.voyageai import PROVIDERS
from gateway.callers.voyageai.embedding import embeddings_body
from gateway.callers.voyageai.verify_credential import PROBE_BODY
from gateway.callers.voyageai.wire import VoyageWire, parse_voyage_error
from gateway.core.params import ModelParameters
from gateway.errors import AuthenticationError, InvalidRequestError, RateLimitError, UpstreamError
from tests.callers.voyageai.support import context
from tests.fakes.server import Scripted
from tests.fakes.voyageai_fake import VALID_KEY, FakeVoyage, voyage_error

SPEC = PROVIDERS[0]


def embed_options(**params: Any) -> EmbeddingOptions:
    return EmbeddingOptions(RequestContext("req_1"), ModelParameters({"model.name": "voyage-3.5", **params}))


def rerank_options(**params: Any) -> RerankerOptions:
    return RerankerOptions(RequestContext("req_1"), ModelParameters({"model.name": "rerank-2.5", **params}))


def test_spec_declares_embeddings_rerank_verify_and_no_chat() -> None:
    caps = SPEC.capabilities
    assert (caps.chat, caps.embeddings, caps.rerank, caps.verify) == (False, True, True, True)
    assert SPEC.credential_env == {"key": "VOYAGE_API_KEY", "base_url": "VOYAGE_BASE_URL"}


def test_url_adds_v1_once() -> None:
    assert VoyageWire("https://api.voyageai.com", {}).url("embeddings") == "https://api.voyageai.com/v1/embeddings"
    assert VoyageWire("http://h/v1/", {}).url("rerank") == "http://h/v1/rerank"


def test_embeddings_body_always_names_the_model() -> None:
    assert embeddings_body(["a"], ModelParameters({}), "voyage-3.5") == {"input": ["a"], "model": "voyage-3.5"}
    mp = ModelParameters({"model.input_type": "search_query", "model.dimensions": "512", "model.truncation": "false"})
    assert embeddings_body(["a"], mp, "m") == {"input": ["a"], "model": "m", "input_type": "query",
                                               "output_dimension": 512, "truncation": False}
    with pytest.raises(InvalidRequestError) as caught:
        embeddings_body(["a"], ModelParameters({"model.input_type": "clustering"}), "m")
    assert caught.value.param == "input_type"


def test_error_parser_reads_detail_strings_and_lists() -> None:
    info = parse_voyage_error({"detail": "Provided API key is invalid."})
    assert info is not None and info.message == "Provided API key is invalid."
    listed = parse_voyage_error({"detail": [{"loc": ["body", "model"], "msg": "field required", "type": "missing"}]})
    assert listed is not None and listed.message == "field required"


async def test_embeddings_on_the_wire_and_parsed(http: httpx.AsyncClient, fake_voyage: FakeVoyage) -> None:
    assert SPEC.embedding is not None
    seen: list[dict[str, Any]] = []
    opts = EmbeddingOptions(RequestContext("req_1"), ModelParameters({
        "model.name": "voyage-3.5", "model.dimensions": 4, "model.input_type": "document"}),
        pre_hook=lambda b: seen.append(dict(b)))
    result = await SPEC.embedding(context(http, fake_voyage)).get_embedding(["one two", "three"], opts)
    sent = fake_voyage.last
    assert (sent.method, sent.path) == ("POST", "/v1/embeddings")
    assert sent.headers["authorization"] == f"Bearer {VALID_KEY}"
    assert sent.body == {"input": ["one two", "three"], "model": "voyage-3.5", "input_type": "document",
                         "output_dimension": 4}
    assert seen == [sent.body]
    assert [e.index for e in result.embeddings] == [0, 1] and all(len(e.vector) == 4 for e in result.embeddings)
    assert (result.usage.input_tokens, result.usage.total) == (3, 3)
    assert result.model == "voyage-3.5"


async def test_embeddings_out_of_order_are_sorted_by_index(http: httpx.AsyncClient, fake_voyage: FakeVoyage) -> None:
    assert SPEC.embedding is not None
    fake_voyage.enqueue(Scripted(json={"object": "list", "model": "voyage-3.5", "usage": {"total_tokens": 2},
                                       "data": [{"embedding": [2.0], "index": 1}, {"embedding": [1.0], "index": 0}]}))
    result = await SPEC.embedding(context(http, fake_voyage)).get_embedding(["a", "b"], embed_options())
    assert [(e.index, e.vector) for e in result.embeddings] == [(0, (1.0,)), (1, (2.0,))]


async def test_rerank_on_the_wire_sorted_with_usage(http: httpx.AsyncClient, fake_voyage: FakeVoyage) -> None:
    assert SPEC.reranking is not None
    documents = ["bananas", "capital of france is paris", "paris", "france"]
    result = await SPEC.reranking(context(http, fake_voyage)).get_reranking(
        "capital of france", documents, rerank_options(**{"model.top_n": 2, "model.truncation": True}))
    assert fake_voyage.last.path == "/v1/rerank"
    assert fake_voyage.last.body == {"query": "capital of france", "documents": documents, "model": "rerank-2.5",
                                     "top_k": 2, "truncation": True}
    assert [r.index for r in result.results] == [1, 3]
    assert result.results[0].relevance_score >= result.results[1].relevance_score
    assert (result.usage.input_tokens, result.usage.total) == (11, 11)


async def test_rerank_index_out_of_range_is_malformed(http: httpx.AsyncClient, fake_voyage: FakeVoyage) -> None:
    assert SPEC.reranking is not None
    fake_voyage.enqueue(Scripted(json={"data": [{"index": 9, "relevance_score": 0.5}], "usage": {"total_tokens": 1}}))
    with pytest.raises(UpstreamError) as caught:
        await SPEC.reranking(context(http, fake_voyage)).get_reranking("q", ["a"], rerank_options())
    assert caught.value.code == "upstream_malformed_response"


async def test_errors_are_mapped(http: httpx.AsyncClient, fake_voyage: FakeVoyage) -> None:
    assert SPEC.embedding is not None
    caller = SPEC.embedding(context(http, fake_voyage))
    fake_voyage.enqueue(voyage_error(429, "Rate limit exceeded", {"retry-after": "3"}))
    with pytest.raises(RateLimitError) as limited:
        await caller.get_embedding(["a"], embed_options())
    assert limited.value.retry_after == 3 and "Rate limit exceeded" in limited.value.message
    fake_voyage.enqueue(voyage_error(500, "Internal error"))
    with pytest.raises(UpstreamError) as failed:
        await caller.get_embedding(["a"], embed_options())
    assert failed.value.status == 502
    with pytest.raises(AuthenticationError) as denied:
        await SPEC.embedding(context(http, fake_voyage, "bad")).get_embedding(["a"], embed_options())
    assert "Provided API key is invalid." in denied.value.message


async def test_verify_probes_one_tiny_embedding(http: httpx.AsyncClient, fake_voyage: FakeVoyage) -> None:
    assert SPEC.verifier is not None
    good = await SPEC.verifier(context(http, fake_voyage)).verify_credential(
        CredentialVerifierOptions(RequestContext("req_1")))
    assert good.valid
    assert (fake_voyage.last.path, fake_voyage.last.body) == ("/v1/embeddings", PROBE_BODY)
    assert len(PROBE_BODY["input"]) == 1
    bad = await SPEC.verifier(context(http, fake_voyage, "nope")).verify_credential(
        CredentialVerifierOptions(RequestContext("req_2")))
    assert not bad.valid and "invalid" in bad.detail
    fake_voyage.enqueue(voyage_error(403, "Forbidden"))
    forbidden = await SPEC.verifier(context(http, fake_voyage)).verify_credential(
        CredentialVerifierOptions(RequestContext("req_3")))
    assert not forbidden.valid
    fake_voyage.enqueue(voyage_error(500, "boom"))
    with pytest.raises(UpstreamError):
        await SPEC.verifier(context(http, fake_voyage)).verify_credential(
            CredentialVerifierOptions(RequestContext("req_4")))
