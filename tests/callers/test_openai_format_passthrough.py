"""Every OpenAI-format provider (openai, azure, the OpenAI-compatible presets) declares
``openai_format`` and a native completions call; unmodelled chat fields and the client's completions
body go out unchanged, to the URL each wire gives (``httpx.MockTransport``, nothing leaves the process)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from gateway.callers.base import (
    CallerContext,
    ChatCompletionOptions,
    Credential,
    RequestContext,
    TextCompletionOptions,
)
from gateway.callers.registry import load_registry
from gateway.core import params as p
from gateway.core.messages import TextPart, UserMessage
from gateway.core.params import ModelParameters

CREDENTIALS = {
    "openai": {"key": "k", "base_url": "http://upstream/v1"},
    "azure": {"subscription_key": "k", "endpoint": "http://upstream", "api_version": "2024-10-21"},
    "vllm": {"base_url": "http://upstream/v1"},
    "llamacpp": {"base_url": "http://upstream/v1"},
}
CHAT = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
TEXT = {"choices": [{"index": 0, "text": "ok", "logprobs": None, "finish_reason": "stop"}]}


def test_exactly_the_openai_format_providers_declare_it() -> None:
    registry = load_registry(plugins=False)
    declared = {spec.name for spec in registry if spec.openai_format}
    assert {"openai", "azure", "vllm", "llamacpp"} <= declared
    assert not {"anthropic", "gemini", "cohere", "vertexai"} & declared
    assert all(spec.text_completion is not None for spec in registry if spec.openai_format)


@pytest.mark.parametrize("provider", sorted(CREDENTIALS))
async def test_extra_fields_and_completions_bodies_go_out_unchanged(provider: str) -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=TEXT if request.url.path.endswith("/completions")
                              and "chat" not in request.url.path else CHAT)

    spec = load_registry(plugins=False).get(provider)
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        ctx = CallerContext(provider, http, Credential(CREDENTIALS[provider]))
        assert spec.llm is not None and spec.text_completion is not None
        request = RequestContext("req_1")
        extra: dict[str, Any] = {"min_p": 0.1, "chat_template_kwargs": {"enable_thinking": False}}
        chat = ChatCompletionOptions(request, ModelParameters({p.NAME: "dep"}), extra_body=extra)
        await spec.llm(ctx).get_chat_completion([UserMessage((TextPart("hi"),))], chat)
        text = TextCompletionOptions(request, ModelParameters({p.NAME: "dep"}))
        result = await spec.text_completion(ctx).get_text_completion({"prompt": [1, 2], "echo": True}, text)
    chat_body, text_body = (orjson.loads(r.content) for r in sent)
    assert {k: chat_body[k] for k in extra} == extra
    assert {k: text_body[k] for k in ("prompt", "echo")} == {"prompt": [1, 2], "echo": True}
    assert result.choices[0].content == "ok"
    expected = "/openai/deployments/dep/completions" if provider == "azure" else "/v1/completions"
    assert sent[1].url.path == expected
