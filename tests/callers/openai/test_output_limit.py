"""The output-token limit goes upstream under the name the client used, unless the provider
(or, for OpenAI, the model family) requires the other: golden request bodies, pure."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.api.translate import to_chat_call
from gateway.callers.azure.wire import layout
from gateway.callers.base import ChatCompletionOptions, RequestContext
from gateway.callers.openai.request import to_openai_chat
from gateway.callers.openai.wire import OPENAI_QUIRKS, REASONING_MODELS, Quirks
from gateway.callers.openai_compatible import PROFILES, Profile
from gateway.core import params as p
from gateway.core.params import ModelParameters
from gateway.schemas.openai import ChatCompletionRequest

HI = [{"role": "user", "content": "hi"}]


def upstream(limit: dict[str, int], quirks: Quirks, model: str = "gpt-4o-mini",
             defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """The upstream body for a client body with ``limit``, merged the way the service merges."""
    call = to_chat_call(ChatCompletionRequest.model_validate({"model": f"openai/{model}", "messages": HI, **limit}))
    params = ModelParameters(defaults).merged(call.parameters).merged({p.NAME: model})
    options = ChatCompletionOptions(RequestContext("req_1"), params)
    return to_openai_chat(call.messages, options, quirks, stream=False)


def test_openai_keeps_the_clients_name() -> None:
    assert upstream({"max_tokens": 24}, OPENAI_QUIRKS) == {"model": "gpt-4o-mini", "messages": HI, "max_tokens": 24}
    assert upstream({"max_completion_tokens": 24}, OPENAI_QUIRKS) == {
        "model": "gpt-4o-mini", "messages": HI, "max_completion_tokens": 24}


def test_both_names_send_the_winning_value_under_max_completion_tokens() -> None:
    body = upstream({"max_tokens": 10, "max_completion_tokens": 20}, OPENAI_QUIRKS)
    assert body["max_completion_tokens"] == 20 and "max_tokens" not in body


@pytest.mark.parametrize("model", ["o1", "o1-mini", "o3-mini-2025-01-31", "o4-mini", "gpt-5", "gpt-5-mini",
                                   "gpt-5.1", "gpt-5.1-codex", "ft:o4-mini-2025-04-16:org::abc"])
def test_reasoning_models_get_max_completion_tokens(model: str) -> None:
    body = upstream({"max_tokens": 24}, OPENAI_QUIRKS, model)
    assert body["max_completion_tokens"] == 24 and "max_tokens" not in body


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4.1-mini", "gpt-50", "o10", "gemma3-270m", "omni-moderation"])
def test_other_models_keep_max_tokens(model: str) -> None:
    assert upstream({"max_tokens": 24}, OPENAI_QUIRKS, model)["max_tokens"] == 24


def test_the_reasoning_families_are_declared_data() -> None:
    assert OPENAI_QUIRKS.completion_tokens_models == REASONING_MODELS
    assert OPENAI_QUIRKS.max_tokens_field is None


@pytest.mark.parametrize("profile", PROFILES, ids=lambda profile: profile.name)
def test_every_preset_keeps_max_tokens(profile: Profile) -> None:
    body = upstream({"max_tokens": 24}, profile.quirks, "some-model")
    assert body["max_tokens"] == 24 and "max_completion_tokens" not in body


@pytest.mark.parametrize("profile", PROFILES, ids=lambda profile: profile.name)
def test_a_preset_sends_max_completion_tokens_as_it_requires(profile: Profile) -> None:
    body = upstream({"max_completion_tokens": 24}, profile.quirks, "some-model")
    sent = profile.quirks.max_tokens_field or "max_completion_tokens"
    assert {k: v for k, v in body.items() if k.startswith("max_")} == {sent: 24}


def test_llamacpp_requires_max_tokens() -> None:
    llamacpp = next(profile for profile in PROFILES if profile.name == "llamacpp")
    assert upstream({"max_completion_tokens": 24}, llamacpp.quirks, "gemma3-270m")["max_tokens"] == 24


@pytest.mark.parametrize("api_version", ["2024-10-21", "v1"])
def test_azure_sends_max_completion_tokens_as_before(api_version: str) -> None:
    quirks = layout("https://r.openai.azure.com", api_version).quirks
    assert upstream({"max_tokens": 24}, quirks)["max_completion_tokens"] == 24


def test_an_alias_default_under_max_tokens_keeps_its_name_until_the_client_overrides_it() -> None:
    defaults = {"model.max_tokens": 100}
    assert upstream({}, OPENAI_QUIRKS, defaults=defaults)["max_tokens"] == 100
    overridden = upstream({"max_completion_tokens": 7}, OPENAI_QUIRKS, defaults=defaults)
    assert overridden["max_completion_tokens"] == 7 and "max_tokens" not in overridden


def test_spelling_survives_merged_and_without() -> None:
    params = ModelParameters({"model.max_tokens": 5, "model.stop_sequences": "END"}).merged({"model.seed": 1})
    assert params.get_int(p.MAX_COMPLETION_TOKENS) == 5
    assert params.spelling(p.MAX_COMPLETION_TOKENS) == p.MAX_TOKENS
    assert params.without({p.SEED}).spelling(p.STOP) == "model.stop_sequences"
    assert params.spelling(p.SEED) == p.SEED
    assert params.merged({p.MAX_COMPLETION_TOKENS: 9}).spelling(p.MAX_COMPLETION_TOKENS) == p.MAX_COMPLETION_TOKENS
