"""The Hugging Face callers against the fake router / HF Inference / Hub over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.callers.base import (
    CallerContext,
    ChatCompletionOptions,
    Credential,
    CredentialVerifierOptions,
    EmbeddingOptions,
    RequestContext,
)
from gateway.callers.huggingface import PROVIDERS
from gateway.callers.huggingface.endpoints import endpoints
from gateway.callers.huggingface.errors import parse_hf_error
from gateway.core.messages import Message, SystemMessage, TextPart, ToolDefinition, UserMessage
from gateway.core.params import ModelParameters
from gateway.core.results import StreamEnd, StreamEvent, TextDelta, ToolCallEvent
from gateway.errors import (
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    ServiceUnavailableError,
    UpstreamError,
)
from tests.fakes.huggingface_fake import VALID_TOKEN, FakeHuggingFace, hf_error
from tests.fakes.openai_fake import chunk, text_stream, tool_call_stream
from tests.fakes.server import Scripted, sse

SPEC = PROVIDERS[0]
MODEL = "meta-llama/Llama-3.1-8B-Instruct:fastest"
MESSAGES: list[Message] = [SystemMessage("Be brief.", role="developer"), UserMessage((TextPart("hello world"),))]
WEATHER = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})


def dotted(values: dict[str, Any]) -> dict[str, Any]:
    """Dotted parameter names to pass as ``**kwargs``; typed ``Any`` so mypy does not check them against the
    helpers' named arguments."""
    return values


def context(http: httpx.AsyncClient, fake: FakeHuggingFace, key: str = VALID_TOKEN) -> CallerContext:
    return CallerContext("huggingface", http, Credential({"key": key, "base_url": fake.url + "/v1"}))


def chat_options(tools: tuple[ToolDefinition, ...] = (), **params: Any) -> ChatCompletionOptions:
    return ChatCompletionOptions(RequestContext("req_1"), ModelParameters({"model.name": MODEL, **params}),
                                 tool_definitions=tools)


def embedding_options(model: str = "BAAI/bge-small-en-v1.5", **params: Any) -> EmbeddingOptions:
    return EmbeddingOptions(RequestContext("req_1"), ModelParameters({"model.name": model, **params}))


async def collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in stream]


def test_urls_default_to_the_router_and_hub_and_follow_one_base_url_override() -> None:
    defaults = endpoints(Credential({"key": "k"}))
    assert (defaults.chat, defaults.inference, defaults.hub) == (
        "https://router.huggingface.co/v1", "https://router.huggingface.co/hf-inference", "https://huggingface.co")
    for base in ("http://127.0.0.1:9/v1", "http://127.0.0.1:9", "http://127.0.0.1:9/v1/"):
        derived = endpoints(Credential({"key": "k", "base_url": base}))
        assert (derived.chat, derived.inference, derived.hub) == (
            "http://127.0.0.1:9/v1", "http://127.0.0.1:9/hf-inference", "http://127.0.0.1:9")
    explicit = endpoints(Credential({"key": "k", "base_url": "http://a/v1", "hub_url": "http://hub",
                                     "inference_url": "http://inf/"}))
    assert (explicit.chat, explicit.inference, explicit.hub) == ("http://a/v1", "http://inf", "http://hub")


async def test_chat_speaks_the_router_dialect(http: httpx.AsyncClient, fake_hf: FakeHuggingFace) -> None:
    caller = SPEC.llm(context(http, fake_hf))  # type: ignore[misc]
    result = await caller.get_chat_completion(MESSAGES, chat_options(**dotted({
        "model.max_completion_tokens": 64, "model.temperature": 0.3, "model.stop": ["END"], "model.seed": 7,
        "model.response_format": {"type": "json_object"}})))
    sent = fake_hf.last
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {VALID_TOKEN}"
    assert sent.body == {
        "model": MODEL,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello world"}],
        "temperature": 0.3, "seed": 7, "max_tokens": 64, "stop": ["END"], "response_format": {"type": "json_object"},
    }
    assert result.choices[0].content == '{"echo": "hello world"}'
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total) == (11, 7, 18)


async def test_chat_sends_tools_and_a_named_tool_choice(http: httpx.AsyncClient, fake_hf: FakeHuggingFace) -> None:
    caller = SPEC.llm(context(http, fake_hf))  # type: ignore[misc]
    choice = {"type": "function", "function": {"name": "get_weather"}}
    result = await caller.get_chat_completion(MESSAGES,
                                              chat_options((WEATHER,), **dotted({"model.tool_choice": choice})))
    assert fake_hf.last.body["tool_choice"] == choice
    assert fake_hf.last.body["tools"][0] == {"type": "function", "function": {
        "name": "get_weather", "description": "Weather", "parameters": WEATHER.parameters}}
    call = result.choices[0].tool_calls[0]
    assert (call.name, call.arguments, result.choices[0].finish_reason) == (
        "get_weather", '{"city": "Paris"}', "tool_calls")


async def test_stream_text_and_usage(http: httpx.AsyncClient, fake_hf: FakeHuggingFace) -> None:
    fake_hf.enqueue(Scripted(stream=text_stream(["Hel", "lo", "!"]), media_type="text/event-stream"))
    caller = SPEC.llm(context(http, fake_hf))  # type: ignore[misc]
    events = await collect(caller.stream_chat_completion(MESSAGES, chat_options()))
    assert fake_hf.last.body["stream"] is True
    assert fake_hf.last.body["stream_options"] == {"include_usage": True}
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo", "!"]
    end = events[-1]
    assert isinstance(end, StreamEnd) and sum(isinstance(e, StreamEnd) for e in events) == 1
    assert end.result.choices[0].content == "Hello!"
    assert (end.result.usage.input_tokens, end.result.usage.output_tokens) == (11, 3)


async def test_stream_tool_calls_once_each(http: httpx.AsyncClient, fake_hf: FakeHuggingFace) -> None:
    frames = tool_call_stream([("call_a", "get_weather", ['{"city"', ': "Paris"}']),
                               ("call_b", "get_weather", ['{"city": "Rome"}'])])
    fake_hf.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    caller = SPEC.llm(context(http, fake_hf))  # type: ignore[misc]
    events = await collect(caller.stream_chat_completion(MESSAGES, chat_options((WEATHER,))))
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.position, c.tool_call.id, c.tool_call.arguments) for c in calls] == [
        (0, "call_a", '{"city": "Paris"}'), (1, "call_b", '{"city": "Rome"}')]
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.result.usage.total == 18


async def test_an_error_inside_the_stream_raises(http: httpx.AsyncClient, fake_hf: FakeHuggingFace) -> None:
    frames = sse([chunk({"content": "par"}), {"error": {"message": "Model too busy", "type": "overloaded"}}])
    fake_hf.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    caller = SPEC.llm(context(http, fake_hf))  # type: ignore[misc]
    received: list[StreamEvent] = []
    with pytest.raises(UpstreamError, match="Model too busy"):
        async for event in caller.stream_chat_completion(MESSAGES, chat_options()):
            received.append(event)
    assert [e.text for e in received if isinstance(e, TextDelta)] == ["par"]


async def test_a_stream_without_its_end_marker_is_truncated(http: httpx.AsyncClient,
                                                           fake_hf: FakeHuggingFace) -> None:
    fake_hf.enqueue(Scripted(stream=sse([chunk({"content": "half"})]), media_type="text/event-stream"))
    caller = SPEC.llm(context(http, fake_hf))  # type: ignore[misc]
    with pytest.raises(UpstreamError) as caught:
        await collect(caller.stream_chat_completion(MESSAGES, chat_options()))
    assert caught.value.code == "upstream_stream_truncated"


async def test_upstream_errors_map_by_status(http: httpx.AsyncClient, fake_hf: FakeHuggingFace) -> None:
    caller = SPEC.llm(context(http, fake_hf, key="hf_bad"))  # type: ignore[misc]
    with pytest.raises(AuthenticationError, match="Invalid credentials"):
        await caller.get_chat_completion(MESSAGES, chat_options())
    caller = SPEC.llm(context(http, fake_hf))  # type: ignore[misc]
    fake_hf.enqueue(hf_error(429, "Rate limit reached", {"retry-after": "9"}))
    with pytest.raises(RateLimitError) as limited:
        await caller.get_chat_completion(MESSAGES, chat_options())
    assert limited.value.retry_after == 9
    fake_hf.enqueue(hf_error(500, "Internal Error"))
    with pytest.raises(UpstreamError) as failed:
        await caller.get_chat_completion(MESSAGES, chat_options())
    assert failed.value.status == 502 and "Internal Error" in failed.value.message


async def test_embeddings_call_feature_extraction(http: httpx.AsyncClient, fake_hf: FakeHuggingFace) -> None:
    caller = SPEC.embedding(context(http, fake_hf))  # type: ignore[misc]
    result = await caller.get_embedding(["a", "b c"], embedding_options(**dotted({"model.normalize": "true",
                                                                           "model.truncate": True})))
    sent = fake_hf.last
    assert sent.path == "/hf-inference/models/BAAI/bge-small-en-v1.5/pipeline/feature-extraction"
    assert sent.headers["authorization"] == f"Bearer {VALID_TOKEN}"
    assert sent.body == {"inputs": ["a", "b c"], "normalize": True, "truncate": True}
    assert [e.index for e in result.embeddings] == [0, 1]
    assert all(len(e.vector) == 8 for e in result.embeddings)
    assert result.embeddings[0].vector != result.embeddings[1].vector
    assert (result.usage.input_tokens, result.usage.total) == (None, None)


async def test_token_level_features_are_refused_not_guessed(http: httpx.AsyncClient,
                                                           fake_hf: FakeHuggingFace) -> None:
    caller = SPEC.embedding(context(http, fake_hf))  # type: ignore[misc]
    with pytest.raises(InvalidRequestError) as caught:
        await caller.get_embedding(["a"], embedding_options("org/token-level-bert"))
    assert caught.value.code == "unsupported_model_output"


async def test_embedding_errors_use_the_hf_error_body(http: httpx.AsyncClient, fake_hf: FakeHuggingFace) -> None:
    fake_hf.enqueue(hf_error(503, "Model BAAI/bge-small-en-v1.5 is currently loading", estimated_time=20.0))
    caller = SPEC.embedding(context(http, fake_hf))  # type: ignore[misc]
    with pytest.raises(ServiceUnavailableError, match="currently loading"):
        await caller.get_embedding(["a"], embedding_options())


def test_hf_error_shapes() -> None:
    assert parse_hf_error({"error": ["too long", "bad input"]}).message == "too long; bad input"  # type: ignore[union-attr]
    info = parse_hf_error({"error": "Input validation error", "error_type": "validation"})
    assert info is not None and (info.message, info.code) == ("Input validation error", "validation")
    info = parse_hf_error({"error": {"message": "nope", "type": "invalid_request_error"}})
    assert info is not None and (info.message, info.code) == ("nope", "invalid_request_error")
    assert parse_hf_error(["not", "a", "dict"]) is None


async def test_verify_uses_whoami(http: httpx.AsyncClient, fake_hf: FakeHuggingFace) -> None:
    verifier = SPEC.verifier(context(http, fake_hf))  # type: ignore[misc]
    verdict = await verifier.verify_credential(CredentialVerifierOptions(RequestContext("r")))
    assert verdict.valid and "gateway-tester" in verdict.detail
    assert (fake_hf.last.method, fake_hf.last.path) == ("GET", "/api/whoami-v2")
    assert fake_hf.last.headers["authorization"] == f"Bearer {VALID_TOKEN}"
    bad = SPEC.verifier(context(http, fake_hf, key="hf_bad"))  # type: ignore[misc]
    verdict = await bad.verify_credential(CredentialVerifierOptions(RequestContext("r")))
    assert not verdict.valid and "hf_bad" not in verdict.detail


async def test_verify_raises_on_an_outage_instead_of_calling_it_valid(http: httpx.AsyncClient,
                                                                      fake_hf: FakeHuggingFace) -> None:
    fake_hf.enqueue(hf_error(500, "Internal Error"))
    verifier = SPEC.verifier(context(http, fake_hf))  # type: ignore[misc]
    with pytest.raises(UpstreamError):
        await verifier.verify_credential(CredentialVerifierOptions(RequestContext("r")))
