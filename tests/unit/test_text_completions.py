"""Pure pieces of ``/v1/completions`` and bare model names: the completions translation, the
renumbering of several prompts' choices, the stream accumulator, the rendered shapes (checked against
OpenAI's ``CreateCompletionResponse``) and the router's bare-name rules."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.api import render
from gateway.api.translate import to_text_call
from gateway.callers.base import Timeouts
from gateway.callers.openai.completions import TextChunkAccumulator, from_openai_completion
from gateway.callers.registry import load_registry
from gateway.config import ConfigError, GatewayConfig
from gateway.core import params as p
from gateway.core.results import ChatResult, Choice, TextDelta, Usage
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.schemas.openai import CompletionRequest
from gateway.service.completions import chats_for, merged
from gateway.service.routing import Router
from tests.openapi import assert_valid


def call(**body: Any) -> Any:
    return to_text_call(CompletionRequest.model_validate({"model": "m", "prompt": "hi", **body}))


def test_a_prompt_becomes_one_user_message_per_chat_call() -> None:
    text = call(prompt=["a", "b"], max_tokens=5, stop="x", n=2, top_k=3)
    assert [c.messages[0].parts[0].text for c in text.chats] == ["a", "b"]
    assert text.chats[0].parameters == {p.NAME: "m", p.MAX_TOKENS: 5, p.N: 2, p.STOP: ["x"]}
    assert text.chats[0].extra == {"top_k": 3}
    assert text.body == {"prompt": ["a", "b"], "max_tokens": 5, "stop": "x", "n": 2, "top_k": 3}
    assert text.refused is None


@pytest.mark.parametrize(("body", "field"), [
    ({"logprobs": 0}, "logprobs"), ({"echo": True}, "echo"), ({"suffix": ""}, "suffix"), ({"best_of": 2}, "best_of"),
    ({"prompt": [1, 2]}, "prompt"), ({"prompt": [[1], [2]]}, "prompt"),
])
def test_what_chat_cannot_honour_is_named(body: dict[str, Any], field: str) -> None:
    text = call(**body)
    assert (text.refused, text.chats) == (field, ())
    with pytest.raises(InvalidRequestError) as caught:
        chats_for(text, "gemini", stream=False)
    assert caught.value.param == field


def test_a_stream_through_chat_takes_one_prompt() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        chats_for(call(prompt=["a", "b"], stream=True), "gemini", stream=True)
    assert caught.value.param == "prompt"


def test_several_prompts_choices_are_numbered_prompt_by_prompt() -> None:
    one = ChatResult((Choice(0, "a0"), Choice(1, "a1")), Usage(2, 3, 5))
    two = ChatResult((Choice(0, "b0"), Choice(1, "b1")), Usage(1, 1, 2))
    result = merged([one, two])
    assert [(c.index, c.content) for c in result.choices] == [(0, "a0"), (1, "a1"), (2, "b0"), (3, "b1")]
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total) == (3, 4, 7)


def test_rendered_completion_and_chunks_fit_openais_shape() -> None:
    result = from_openai_completion({"id": "x", "choices": [
        {"text": "hi", "index": 0, "logprobs": None, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}, "openai")
    body = render.text_completion(result, "openai/m", "req_abc")
    assert_valid("CreateCompletionResponse", body)
    assert (body["id"], body["choices"][0]["finish_reason"]) == ("cmpl-abc", "length")
    renderer = render.TextChunkRenderer("openai/m", "req_abc")
    accumulator = TextChunkAccumulator()
    events = list(accumulator.feed({"choices": [{"text": "hi", "index": 0, "finish_reason": None}]}))
    assert events == [TextDelta("hi", 0, None)]
    list(accumulator.feed({"choices": [{"text": "", "index": 0, "finish_reason": "stop"}],
                           "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}))
    assert accumulator.finished and accumulator.result().choices[0].content == "hi"
    for frame in (renderer.finish(accumulator.result()), renderer.usage(accumulator.usage)):
        assert_valid("CreateCompletionResponse", orjson.loads(frame.removeprefix(b"data: ")))


def router(default: str | None = None, providers: dict[str, Any] | None = None) -> Router:
    config = GatewayConfig.model_validate({"providers": providers or {}})
    return Router(load_registry(plugins=False), config, {}, Timeouts(), default)


def test_bare_names_go_to_the_default_provider() -> None:
    route = router("openai").resolve("gpt-4o-mini")
    assert (route.provider, route.upstream_model, route.public_model) == ("openai", "gpt-4o-mini", "gpt-4o-mini")
    assert router("openai").resolve("meta-llama/Llama-3").upstream_model == "meta-llama/Llama-3"
    assert router("openai").resolve("gemini/gemini-2.5-flash").provider == "gemini"


def test_bare_names_in_one_providers_list_resolve_and_in_several_are_ambiguous() -> None:
    lists = router(providers={"gemini": {"models": ["x"]}})
    assert lists.resolve("x").provider == "gemini"
    assert lists.bare_route("y", ["openai"]).provider == "openai"
    with pytest.raises(NotFoundError) as caught:
        lists.bare_route("x", ["openai"])
    assert "gemini, openai" in caught.value.message
    with pytest.raises(NotFoundError) as unknown:
        lists.resolve("nobody-lists-this")
    assert "Use 'provider/model'" in unknown.value.message
    assert lists.needs_model_lists("x") and not lists.needs_model_lists("nosuch/x")
    assert not router("openai").needs_model_lists("x")


def test_an_unknown_default_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        router("nosuch")
