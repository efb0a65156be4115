"""The Vertex AI callers against the fake Vertex AI and token endpoint over real HTTP on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.callers.base import (
    CallerContext,
    ChatCompletionOptions,
    Credential,
    CredentialVerifierOptions,
    EmbeddingOptions,
    RequestContext,
)
from gateway.callers.vertexai import PROVIDERS
from gateway.callers.vertexai.auth import TokenCache
from gateway.callers.vertexai.wire import default_base_url
from gateway.core.messages import ImagePart, Message, SystemMessage, TextPart, UserMessage
from gateway.core.params import ModelParameters
from gateway.core.results import StreamEnd, StreamEvent, TextDelta
from gateway.errors import AuthenticationError, RateLimitError, UpstreamError
from tests.fakes.gemini_fake import candidate, google_error, response, stream_answer
from tests.fakes.server import sse
from tests.fakes.vertexai_fake import AUDIENCE, CLIENT_EMAIL, PROJECT, SCOPE, FakeVertex

SPEC = PROVIDERS[0]
MESSAGES: list[Message] = [SystemMessage("Be brief."), UserMessage((TextPart("hello world"),))]
MODEL_PATH = f"/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/gemini-2.5-flash"


def context(http: httpx.AsyncClient, fake: FakeVertex, key: str | Path, **extra: str) -> CallerContext:
    values = {"service_account_key": str(key), "base_url": fake.url, **extra}
    return CallerContext("vertexai", http, Credential(values))


def chat_options(**params: Any) -> ChatCompletionOptions:
    return ChatCompletionOptions(RequestContext("r"), ModelParameters({"model.name": "gemini-2.5-flash", **params}))


async def collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in stream]


async def test_chat_exchanges_a_signed_jwt_and_calls_the_publisher_model(
        http: httpx.AsyncClient, fake_vertex: FakeVertex, key_file: Path) -> None:
    caller = SPEC.llm(context(http, fake_vertex, key_file))  # type: ignore[misc]
    result = await caller.get_chat_completion(MESSAGES, chat_options(**{"model.max_completion_tokens": 20}))
    assert len(fake_vertex.token_requests) == 1, "the fake verified the JWT signature with the public key"
    claims = fake_vertex.token_requests[0]
    assert (claims["iss"], claims["scope"], claims["aud"]) == (CLIENT_EMAIL, SCOPE, AUDIENCE)
    assert claims["exp"] - claims["iat"] == 3600
    assert fake_vertex.jwt_headers[0] == {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}
    sent = fake_vertex.last
    assert (sent.method, sent.path) == ("POST", MODEL_PATH + ":generateContent")
    assert sent.headers["authorization"] == "Bearer ya29.fake-1"
    assert sent.body == {"contents": [{"role": "user", "parts": [{"text": "hello world"}]}],
                         "systemInstruction": {"parts": [{"text": "Be brief."}]},
                         "generationConfig": {"maxOutputTokens": 20}}
    assert result.choices[0].content == "echo: hello world"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (9, 5)


async def test_the_token_is_fetched_once_and_again_after_expiry(
        http: httpx.AsyncClient, fake_vertex: FakeVertex, key_file: Path) -> None:
    fake_vertex.expires_in = 1
    caller = SPEC.llm(context(http, fake_vertex, key_file))  # type: ignore[misc]
    for _ in range(3):
        await caller.get_chat_completion(MESSAGES, chat_options())
    await collect(caller.stream_chat_completion(MESSAGES, chat_options()))
    assert len(fake_vertex.token_requests) == 1
    await asyncio.sleep(0.6)  # a 1 s token is refreshed half a second early
    await caller.get_chat_completion(MESSAGES, chat_options())
    assert len(fake_vertex.token_requests) == 2
    assert fake_vertex.last.headers["authorization"] == "Bearer ya29.fake-2"


async def test_concurrent_requests_share_one_token_exchange(
        http: httpx.AsyncClient, fake_vertex: FakeVertex, key_file: Path) -> None:
    """Concurrent requests on one deployment's caller (the gateway builds it once) exchange once."""
    fake_vertex.token_delay = 0.2
    caller = SPEC.llm(context(http, fake_vertex, key_file))  # type: ignore[misc]
    await asyncio.gather(*(caller.get_chat_completion(MESSAGES, chat_options()) for _ in range(5)))
    assert len(fake_vertex.token_requests) == 1
    await asyncio.gather(*(caller.get_chat_completion(MESSAGES, chat_options()) for _ in range(5)))
    assert len(fake_vertex.token_requests) == 1


async def test_the_key_may_be_json_text_and_the_project_comes_from_it(
        http: httpx.AsyncClient, fake_vertex: FakeVertex, make_key_text: Callable[[str], str]) -> None:
    ctx = context(http, fake_vertex, make_key_text(fake_vertex.url + "/token"), region="europe-west4")
    await SPEC.llm(ctx).get_chat_completion(MESSAGES, chat_options())  # type: ignore[misc]
    assert fake_vertex.last.path == (f"/v1/projects/{PROJECT}/locations/europe-west4/publishers/google/models/"
                                     "gemini-2.5-flash:generateContent")


async def test_a_key_the_token_endpoint_refuses_is_an_authentication_error(
        http: httpx.AsyncClient, fake_vertex: FakeVertex, make_key_text: Callable[[str], str]) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    fake_vertex.public_key = other.public_key()
    caller = SPEC.llm(context(http, fake_vertex, make_key_text(fake_vertex.url + "/token")))  # type: ignore[misc]
    with pytest.raises(AuthenticationError) as caught:
        await caller.get_chat_completion(MESSAGES, chat_options())
    assert caught.value.code == "invalid_grant" and "Invalid JWT Signature" in caught.value.message
    assert [r.path for r in fake_vertex.requests] == []


@pytest.mark.parametrize("key", ["/nonexistent/key.json", '{"type": "service_account"}', "{not json"])
async def test_an_unusable_key_is_refused_without_leaking_it(http: httpx.AsyncClient, fake_vertex: FakeVertex,
                                                             key: str) -> None:
    caller = SPEC.llm(context(http, fake_vertex, key))  # type: ignore[misc]
    with pytest.raises(AuthenticationError) as caught:
        await caller.get_chat_completion(MESSAGES, chat_options())
    assert caught.value.code == "invalid_service_account" and key not in caught.value.message


async def test_stream_and_gcs_images(http: httpx.AsyncClient, fake_vertex: FakeVertex, key_file: Path) -> None:
    caller = SPEC.llm(context(http, fake_vertex, key_file))  # type: ignore[misc]
    messages: list[Message] = [UserMessage((TextPart("one two"), ImagePart("gs://bucket/photo.png")))]
    events = await collect(caller.stream_chat_completion(messages, chat_options()))
    sent = fake_vertex.last
    assert sent.path == MODEL_PATH + ":streamGenerateContent" and sent.query == {"alt": "sse"}
    assert sent.body["contents"][0]["parts"][1] == {"fileData": {"mimeType": "image/png",
                                                                 "fileUri": "gs://bucket/photo.png"}}
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["echo: ", "one ", "two"]
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.result.usage.output_tokens == 3


async def test_errors_map_like_the_gemini_api(http: httpx.AsyncClient, fake_vertex: FakeVertex,
                                              key_file: Path) -> None:
    caller = SPEC.llm(context(http, fake_vertex, key_file))  # type: ignore[misc]
    fake_vertex.enqueue(google_error(429, "Quota exceeded for aiplatform.googleapis.com/generate_content_requests.",
                                     "RESOURCE_EXHAUSTED",
                                     [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "5s"}]))
    with pytest.raises(RateLimitError) as limited:
        await caller.get_chat_completion(MESSAGES, chat_options())
    assert limited.value.retry_after == 5
    fake_vertex.enqueue(stream_answer(sse([response(candidate([{"text": "a"}], None)),
                                           {"error": {"code": 500, "message": "Internal error.",
                                                      "status": "INTERNAL"}}])))
    with pytest.raises(UpstreamError, match="Internal error"):
        await collect(caller.stream_chat_completion(MESSAGES, chat_options()))
    fake_vertex.issued.clear()  # the cached token is no longer accepted
    with pytest.raises(AuthenticationError, match="invalid authentication credentials"):
        await caller.get_chat_completion(MESSAGES, chat_options())


async def test_embeddings_use_predict_and_sum_token_counts(http: httpx.AsyncClient, fake_vertex: FakeVertex,
                                                           key_file: Path) -> None:
    caller = SPEC.embedding(context(http, fake_vertex, key_file))  # type: ignore[misc]
    params = {"model.name": "text-embedding-005", "model.dimensions": 4, "model.input_type": "RETRIEVAL_QUERY"}
    result = await caller.get_embedding(["a b", "c d e"], EmbeddingOptions(RequestContext("r"),
                                                                            ModelParameters(params)))
    sent = fake_vertex.last
    assert sent.path == f"/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/" \
                        "text-embedding-005:predict"
    assert sent.body == {"instances": [{"content": "a b", "task_type": "RETRIEVAL_QUERY"},
                                       {"content": "c d e", "task_type": "RETRIEVAL_QUERY"}],
                         "parameters": {"outputDimensionality": 4}}
    assert [len(e.vector) for e in result.embeddings] == [4, 4]
    assert (result.usage.input_tokens, result.usage.total) == (5, 5)


async def test_verify_exchanges_the_key_and_lists_endpoints(
        http: httpx.AsyncClient, fake_vertex: FakeVertex, key_file: Path) -> None:
    options = CredentialVerifierOptions(RequestContext("r"))
    good = await SPEC.verifier(context(http, fake_vertex, key_file)).verify_credential(options)  # type: ignore[misc]
    assert good.valid and CLIENT_EMAIL in good.detail
    assert (fake_vertex.last.method, fake_vertex.last.path, fake_vertex.last.query) == (
        "GET", f"/v1/projects/{PROJECT}/locations/us-central1/endpoints", {"pageSize": "1"})
    wrong_project = await SPEC.verifier(  # type: ignore[misc]
        context(http, fake_vertex, key_file, project_id="someone-else")).verify_credential(options)
    assert not wrong_project.valid and "Permission" in wrong_project.detail


async def test_verify_reports_a_refused_key_as_invalid(http: httpx.AsyncClient, fake_vertex: FakeVertex,
                                                       key_file: Path) -> None:
    fake_vertex.public_key = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    bad = await SPEC.verifier(context(http, fake_vertex, key_file)).verify_credential(  # type: ignore[misc]
        CredentialVerifierOptions(RequestContext("r")))
    assert not bad.valid and "invalid_grant" in bad.detail
    broken = await SPEC.verifier(context(http, fake_vertex, "/nonexistent.json")).verify_credential(  # type: ignore[misc]
        CredentialVerifierOptions(RequestContext("r")))
    assert not broken.valid


async def test_token_cache_reuses_until_expiry_and_stays_bounded() -> None:
    now = [1000.0]
    cache = TokenCache(max_entries=2, clock=lambda: now[0])
    fetched: list[str] = []

    async def fetch() -> tuple[str, float]:
        fetched.append("t")
        return f"token-{len(fetched)}", 3600.0

    key = ("a@x", "scope", "uri")
    assert await cache.get(key, fetch) == "token-1"
    now[0] += 3539
    assert await cache.get(key, fetch) == "token-1"
    now[0] += 2  # within a minute of expiry
    assert await cache.get(key, fetch) == "token-2"
    for email in ("b@x", "c@x"):
        await cache.get((email, "scope", "uri"), fetch)
    assert len(cache) == 2


def test_default_base_urls() -> None:
    assert default_base_url("us-central1") == "https://us-central1-aiplatform.googleapis.com"
    assert default_base_url("global") == "https://aiplatform.googleapis.com"
