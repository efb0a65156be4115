"""The preset table and the wires it builds (pure), plus one caller-level vendor quirk."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from gateway.callers.base import CallerContext, ChatCompletionOptions, Credential, RequestContext
from gateway.callers.openai.request import CHAT_PARAMETERS
from gateway.callers.openai_compatible import PROFILES, PROVIDERS, Profile
from gateway.callers.openai_compatible.wire import preset_wire
from gateway.callers.registry import load_registry
from gateway.core import params as p
from gateway.core.messages import TextPart, UserMessage
from gateway.core.params import ModelParameters
from gateway.core.results import StreamEnd
from gateway.errors import AuthenticationError
from tests.callers.openai_compatible.support import BY_NAME
from tests.fakes.openai_compatible_fake import FakeCompatible
from tests.fakes.openai_fake import VALID_KEY, chunk
from tests.fakes.server import Scripted

# name: (default base URL, key variable, base-URL variable, key required) - from each vendor's docs.
DOCUMENTED = {
    "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY", "GROQ_BASE_URL", True),
    "together": ("https://api.together.xyz/v1", "TOGETHER_API_KEY", "TOGETHER_BASE_URL", True),
    "deepseek": ("https://api.deepseek.com", "DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL", True),
    "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "OPENROUTER_BASE_URL", True),
    "fireworks": ("https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY", "FIREWORKS_BASE_URL", True),
    "xai": ("https://api.x.ai/v1", "XAI_API_KEY", "XAI_BASE_URL", True),
    "ollama": ("http://localhost:11434/v1", "OLLAMA_API_KEY", "OLLAMA_BASE_URL", False),
    "vllm": ("http://localhost:8000/v1", "VLLM_API_KEY", "VLLM_BASE_URL", False),
    "llamacpp": ("http://localhost:8080/v1", "LLAMACPP_API_KEY", "LLAMACPP_BASE_URL", False),
}


def test_the_table_holds_the_documented_endpoints_and_variables() -> None:
    assert {pr.name: (pr.base_url, pr.key_env, pr.base_url_env, pr.key_required) for pr in PROFILES} == DOCUMENTED
    assert all(pr.docs.startswith("https://") for pr in PROFILES)


def test_each_spec_is_the_openai_parameter_set_minus_its_exclusions() -> None:
    for profile, spec in zip(PROFILES, PROVIDERS, strict=True):
        assert spec.name == profile.name
        assert spec.chat_parameters == CHAT_PARAMETERS - profile.excluded
        assert {p.NAME, p.MAX_COMPLETION_TOKENS, p.TOOL_CHOICE} <= spec.chat_parameters
        assert dict(spec.credential_env) == {"key": profile.key_env, "base_url": profile.base_url_env}
        assert spec.required_credentials == (("key",) if profile.key_required else ())
        assert spec.capabilities.embeddings == profile.embeddings
        assert (p.DIMENSIONS in spec.embedding_parameters) == (profile.embeddings and
                                                               profile.quirks.embedding_dimensions)


def test_vendor_specific_exclusions_from_their_docs() -> None:
    assert {p.LOGPROBS, p.TOP_LOGPROBS, p.LOGIT_BIAS, p.N} <= BY_NAME["groq"].excluded
    assert p.SERVICE_TIER not in BY_NAME["groq"].excluded
    assert {p.SEED, p.N, p.LOGIT_BIAS} <= BY_NAME["deepseek"].excluded
    assert {p.PRESENCE_PENALTY, p.FREQUENCY_PENALTY} <= BY_NAME["fireworks"].excluded
    assert p.N in BY_NAME["llamacpp"].excluded and p.N not in BY_NAME["vllm"].excluded
    assert not any(pr.quirks.developer_role for pr in PROFILES)


def test_every_preset_is_registered_by_the_one_package_line() -> None:
    assert set(DOCUMENTED) <= set(load_registry(plugins=False).names())


@pytest.mark.parametrize("profile", PROFILES, ids=[pr.name for pr in PROFILES])
def test_without_a_base_url_the_documented_default_is_used(profile: Profile) -> None:
    wire = preset_wire(profile, Credential({"key": "secret-token"}))
    assert wire.url("chat/completions") == profile.base_url + "/chat/completions"
    assert dict(wire.headers) == {"authorization": "Bearer secret-token"}
    assert "secret-token" not in repr(wire)


def test_keyless_presets_send_no_auth_and_keyed_ones_require_a_key() -> None:
    assert dict(preset_wire(BY_NAME["ollama"], Credential()).headers) == {}
    with pytest.raises(AuthenticationError) as caught:
        preset_wire(BY_NAME["groq"], Credential())
    assert caught.value.code == "missing_provider_credential"


def test_openrouter_verifies_with_the_key_endpoint_because_models_is_public() -> None:
    wire = preset_wire(BY_NAME["openrouter"], Credential({"key": "k"}))
    assert BY_NAME["openrouter"].verify_path == "key"
    assert {profile.verify_path for profile in PROFILES if profile.name != "openrouter"} == {"models"}
    assert wire.url("key") == "https://openrouter.ai/api/v1/key"
    assert wire.url("models") == "https://openrouter.ai/api/v1/models"
    assert wire.url("chat/completions") == "https://openrouter.ai/api/v1/chat/completions"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def test_fireworks_usage_on_the_finish_chunk_is_counted_without_stream_options(
        http: httpx.AsyncClient, fake_compatible: FakeCompatible) -> None:
    last = {**chunk({}, "stop"), "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}
    frames = [b"data: " + orjson.dumps(c) + b"\n\n" for c in (chunk({"content": "o"}), chunk({"content": "k"}), last)]
    fake_compatible.enqueue(Scripted(stream=[*frames, b"data: [DONE]\n\n"], media_type="text/event-stream"))
    spec = PROVIDERS[[pr.name for pr in PROFILES].index("fireworks")]
    assert spec.llm is not None
    credential = Credential({"key": VALID_KEY, "base_url": fake_compatible.url + "/inference/v1"})
    ctx = CallerContext("fireworks", http, credential)
    options = ChatCompletionOptions(RequestContext("r"), ModelParameters({"model.name": "accounts/f/models/x"}))
    events = [e async for e in spec.llm(ctx).stream_chat_completion([UserMessage((TextPart("hi"),))], options)]
    assert "stream_options" not in fake_compatible.last.body
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.result.choices[0].content == "ok"
    assert (end.result.usage.input_tokens, end.result.usage.output_tokens) == (9, 2)
