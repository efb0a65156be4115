"""The Azure provider's callers against the fake Azure data plane over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.callers.azure import PROVIDERS
from gateway.callers.base import (
    CallerContext,
    ChatCompletionOptions,
    Credential,
    CredentialVerifierOptions,
    EmbeddingOptions,
    LargeLanguageCaller,
    RequestContext,
)
from gateway.core.messages import Message, SystemMessage, TextPart, ToolDefinition, UserMessage
from gateway.core.params import ModelParameters
from gateway.core.results import StreamEnd, StreamEvent, TextDelta, ToolCallEvent
from gateway.errors import AuthenticationError, InvalidRequestError, RateLimitError, UpstreamError
from tests.fakes.azure_fake import FakeAzureOpenAI, azure_error, content_filter_error, prompt_filter_chunk
from tests.fakes.openai_fake import VALID_KEY, chunk, completion, text_stream, tool_call_stream
from tests.fakes.server import Scripted, sse

SPEC = PROVIDERS[0]
MESSAGES: list[Message] = [SystemMessage("be brief", role="developer"), UserMessage((TextPart("hello world"),))]
WEATHER = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})
DEPLOYMENT_CHAT = "/openai/deployments/gpt-4o/chat/completions"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def context(http: httpx.AsyncClient, fake: FakeAzureOpenAI, key: str = VALID_KEY, **extra: str) -> CallerContext:
    return CallerContext("azure", http, Credential({"subscription_key": key, "endpoint": fake.url, **extra}))


def llm(http: httpx.AsyncClient, fake: FakeAzureOpenAI, **extra: str) -> LargeLanguageCaller:
    assert SPEC.llm is not None
    return SPEC.llm(context(http, fake, **extra))


def options(*tools: ToolDefinition, **params: Any) -> ChatCompletionOptions:
    return ChatCompletionOptions(RequestContext("req_1"), ModelParameters({"model.name": "gpt-4o", **params}),
                                 tool_definitions=tools)


async def collect(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in stream]


async def test_chat_goes_to_the_deployment_with_api_key_and_api_version(http: httpx.AsyncClient,
                                                                       fake_azure: FakeAzureOpenAI) -> None:
    result = await llm(http, fake_azure).get_chat_completion(MESSAGES, options(**{
        "model.max_completion_tokens": 64, "model.stop": "END,STOP", "model.tool_choice": "none",
        "model.response_format": {"type": "json_object"}}))
    sent = fake_azure.last
    assert (sent.method, sent.path, sent.query) == ("POST", DEPLOYMENT_CHAT, {"api-version": "2024-10-21"})
    assert sent.headers["api-key"] == VALID_KEY and "authorization" not in sent.headers
    assert sent.body == {"model": "gpt-4o", "messages": [{"role": "system", "content": "be brief"},
                                                         {"role": "user", "content": "hello world"}],
                         "max_completion_tokens": 64, "stop": ["END", "STOP"], "tool_choice": "none",
                         "response_format": {"type": "json_object"}}
    assert result.choices[0].content == '{"echo": "hello world"}'
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total_tokens) == (11, 7, 18)


async def test_v1_form_sends_the_model_in_the_body_without_api_version(http: httpx.AsyncClient,
                                                                      fake_azure: FakeAzureOpenAI) -> None:
    result = await llm(http, fake_azure, api_version="v1").get_chat_completion(MESSAGES, options())
    sent = fake_azure.last
    assert (sent.path, sent.query, sent.body["model"]) == ("/openai/v1/chat/completions", {}, "gpt-4o")
    assert sent.body["messages"][0]["role"] == "developer"
    assert result.choices[0].content == "echo: hello world"


async def test_stream_skips_the_prompt_filter_chunk_and_reports_usage(http: httpx.AsyncClient,
                                                                     fake_azure: FakeAzureOpenAI) -> None:
    frames = sse([prompt_filter_chunk()]) + text_stream(["Hel", "lo"])
    fake_azure.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    events = await collect(llm(http, fake_azure).stream_chat_completion(MESSAGES, options()))
    assert fake_azure.last.body["stream_options"] == {"include_usage": True}
    assert fake_azure.last.path == DEPLOYMENT_CHAT
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo"]
    end = events[-1]
    assert isinstance(end, StreamEnd) and sum(isinstance(e, StreamEnd) for e in events) == 1
    assert end.result.choices[0].content == "Hello" and end.result.usage.output_tokens == 2
    assert end.result.model == "gpt-4o-mini-2024-07-18"


async def test_stream_tool_calls_come_out_once_each(http: httpx.AsyncClient, fake_azure: FakeAzureOpenAI) -> None:
    frames = sse([prompt_filter_chunk()]) + tool_call_stream([("call_a", "get_weather", ['{"city"', ': "Oslo"}'])])
    fake_azure.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    events = await collect(llm(http, fake_azure).stream_chat_completion(MESSAGES, options(WEATHER)))
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.position, c.tool_call.id, c.tool_call.arguments) for c in calls] == [(0, "call_a", '{"city": "Oslo"}')]
    assert fake_azure.last.body["tools"][0]["function"]["name"] == "get_weather"
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.result.choices[0].finish_reason == "tool_calls"


async def test_a_filtered_completion_keeps_its_content_and_finish_reason(http: httpx.AsyncClient,
                                                                        fake_azure: FakeAzureOpenAI) -> None:
    fake_azure.enqueue(Scripted(json=completion("partial", finish_reason="content_filter")))
    result = await llm(http, fake_azure).get_chat_completion(MESSAGES, options())
    assert (result.choices[0].content, result.choices[0].finish_reason) == ("partial", "content_filter")


async def test_a_filtered_prompt_stays_a_400_with_the_content_filter_code(http: httpx.AsyncClient,
                                                                         fake_azure: FakeAzureOpenAI) -> None:
    fake_azure.enqueue(content_filter_error())
    with pytest.raises(InvalidRequestError) as caught:
        await llm(http, fake_azure).get_chat_completion(MESSAGES, options())
    assert (caught.value.status, caught.value.code, caught.value.param) == (400, "content_filter", "prompt")
    assert "content management policy" in caught.value.message


async def test_errors_are_mapped_by_status(http: httpx.AsyncClient, fake_azure: FakeAzureOpenAI) -> None:
    fake_azure.enqueue(azure_error(429, "429", "Requests to the ChatCompletions_Create Operation have exceeded "
                                               "call rate limit.", {"retry-after": "11"}),
                       azure_error(500, "InternalServerError", "The server had an error."))
    with pytest.raises(RateLimitError) as limited:
        await llm(http, fake_azure).get_chat_completion(MESSAGES, options())
    assert limited.value.retry_after == 11 and "exceeded call rate limit" in limited.value.message
    with pytest.raises(UpstreamError) as broken:
        await llm(http, fake_azure).get_chat_completion(MESSAGES, options())
    assert broken.value.status == 502 and "server had an error" in broken.value.message


async def test_a_wrong_key_is_an_authentication_error(http: httpx.AsyncClient, fake_azure: FakeAzureOpenAI) -> None:
    caller = SPEC.llm(context(http, fake_azure, key="wrong"))  # type: ignore[misc]
    with pytest.raises(AuthenticationError, match="Access denied"):
        await caller.get_chat_completion(MESSAGES, options())


async def test_an_error_event_inside_the_stream_raises(http: httpx.AsyncClient, fake_azure: FakeAzureOpenAI) -> None:
    frames = sse([chunk({"content": "par"}), {"error": {"code": "server_error", "message": "backend went away"}}])
    fake_azure.enqueue(Scripted(stream=frames, media_type="text/event-stream"))
    with pytest.raises(UpstreamError, match="backend went away"):
        await collect(llm(http, fake_azure).stream_chat_completion(MESSAGES, options()))


async def test_embeddings_go_to_the_deployment_with_dimensions(http: httpx.AsyncClient,
                                                              fake_azure: FakeAzureOpenAI) -> None:
    caller = SPEC.embedding(context(http, fake_azure))  # type: ignore[misc]
    params = ModelParameters({"model.name": "te3", "model.dimensions": 4})
    result = await caller.get_embedding(["a", "b c"], EmbeddingOptions(RequestContext("r"), params))
    sent = fake_azure.last
    assert (sent.path, sent.query["api-version"]) == ("/openai/deployments/te3/embeddings", "2024-10-21")
    assert sent.body == {"model": "te3", "input": ["a", "b c"], "encoding_format": "float", "dimensions": 4}
    assert [len(e.vector) for e in result.embeddings] == [4, 4] and result.usage.input_tokens == 3


@pytest.mark.parametrize(("extra", "path", "query"), [
    ({}, "/openai/models", {"api-version": "2024-10-21"}),
    ({"api_version": "v1"}, "/openai/v1/models", {}),
])
async def test_verify_lists_models_for_free(http: httpx.AsyncClient, fake_azure: FakeAzureOpenAI,
                                           extra: dict[str, str], path: str, query: dict[str, str]) -> None:
    good = await SPEC.verifier(context(http, fake_azure, **extra)).verify_credential(  # type: ignore[misc]
        CredentialVerifierOptions(RequestContext("r")))
    bad = await SPEC.verifier(context(http, fake_azure, "wrong", **extra)).verify_credential(  # type: ignore[misc]
        CredentialVerifierOptions(RequestContext("r")))
    assert good.valid and not bad.valid and "Access denied" in bad.detail
    assert [(r.method, r.path, r.query) for r in fake_azure.requests] == [("GET", path, query)] * 2


async def test_verify_raises_when_azure_is_down(http: httpx.AsyncClient, fake_azure: FakeAzureOpenAI) -> None:
    fake_azure.enqueue(azure_error(500, "InternalServerError", "down"))
    with pytest.raises(UpstreamError):
        await SPEC.verifier(context(http, fake_azure)).verify_credential(  # type: ignore[misc]
            CredentialVerifierOptions(RequestContext("r")))
