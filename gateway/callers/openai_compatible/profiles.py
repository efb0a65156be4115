"""The OpenAI-compatible presets as DATA: one ``Profile`` row per vendor, no code per vendor.

Each row says where the vendor lives, which environment variables configure it,
whether a key is required, the wire ``Quirks``, and which OpenAI ``model.*`` keys
the vendor documents as rejected or different (left out of its parameter set, so
the gateway answers 400 naming them instead of forwarding a doomed request).
Each row cites the public page its facts come from.

Any other OpenAI-compatible server needs no row at all: point the ``openai``
provider at it with ``OPENAI_BASE_URL``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.callers.openai.embedding import EMBEDDING_PARAMETERS
from gateway.callers.openai.request import CHAT_PARAMETERS
from gateway.callers.openai.wire import Quirks
from gateway.core import params as p

# Stored completions (``store``, ``metadata``) and ``service_tier`` are OpenAI platform features.
_OPENAI_PLATFORM = frozenset({p.STORE, p.METADATA, p.SERVICE_TIER})


@dataclass(frozen=True, slots=True)
class Profile:
    """One OpenAI-compatible vendor.

    ``excluded`` / ``embedding_excluded``: ``model.*`` keys of the OpenAI caller the
    vendor does not accept. ``embeddings``: the vendor serves ``/embeddings``.
    ``paths``: per-vendor replacements of the OpenAI paths (``{"embeddings": "<vendor path>"}``); no row
    needs one today.
    ``verify_path``: the free authenticated call that checks a key (``models`` unless that list is public).
    """

    name: str
    description: str
    base_url: str
    key_env: str
    key_required: bool
    docs: str
    quirks: Quirks = field(default_factory=Quirks)
    excluded: frozenset[str] = _OPENAI_PLATFORM
    embeddings: bool = False
    embedding_excluded: frozenset[str] = frozenset()
    paths: Mapping[str, str] = field(default_factory=dict)
    verify_path: str = "models"

    @property
    def base_url_env(self) -> str:
        return f"{self.name.upper()}_BASE_URL"

    @property
    def chat_parameters(self) -> frozenset[str]:
        return CHAT_PARAMETERS - self.excluded

    @property
    def embedding_parameters(self) -> frozenset[str]:
        return EMBEDDING_PARAMETERS - self.embedding_excluded if self.embeddings else frozenset()


# No preset but OpenAI documents the ``developer`` role; every row sends ``system`` instead.
# ``max_tokens_field="max_tokens"``: the vendor documents only ``max_tokens``, so a client's
# ``max_completion_tokens`` goes out under that name; ``None``: it takes both, as the client named it.
_SYSTEM_ROLE = Quirks(developer_role=False, max_tokens_field="max_tokens")
_NO_DIMENSIONS = Quirks(developer_role=False, max_tokens_field="max_tokens", embedding_dimensions=False)

PROFILES: tuple[Profile, ...] = (
    Profile(
        name="groq",
        description="Groq (OpenAI-compatible API)",
        base_url="https://api.groq.com/openai/v1",
        key_env="GROQ_API_KEY",
        key_required=True,
        # "Currently unsupported OpenAI features": logprobs, logit_bias, top_logprobs -> 400, n must be 1.
        # Its API reference documents max_completion_tokens (max_tokens: deprecated, still taken),
        # service_tier and stream_options; it rejects `messages[].name` with a 400.
        docs="https://console.groq.com/docs/openai",
        quirks=Quirks(developer_role=False, max_tokens_field=None, message_name=False),
        excluded=frozenset({p.STORE, p.METADATA, p.LOGPROBS, p.TOP_LOGPROBS, p.LOGIT_BIAS, p.N}),
    ),
    Profile(
        name="together",
        description="Together AI (OpenAI-compatible API)",
        base_url="https://api.together.xyz/v1",
        key_env="TOGETHER_API_KEY",
        key_required=True,
        # Chat completions take max_tokens; ``logprobs`` is an integer count there, not OpenAI's boolean.
        # /embeddings takes model and input only (no dimensions).
        docs="https://docs.together.ai/reference/chat-completions-1",
        quirks=_NO_DIMENSIONS,
        excluded=_OPENAI_PLATFORM | {p.LOGPROBS, p.TOP_LOGPROBS},
        embeddings=True,
        embedding_excluded=frozenset({p.DIMENSIONS}),
    ),
    Profile(
        name="deepseek",
        description="DeepSeek (OpenAI-compatible API)",
        base_url="https://api.deepseek.com",
        key_env="DEEPSEEK_API_KEY",
        key_required=True,
        # "Create Chat Completion" lists model, messages, frequency/presence_penalty, max_tokens,
        # response_format, stop, stream, stream_options, temperature, top_p, tools, tool_choice,
        # logprobs, top_logprobs - nothing else. ``https://api.deepseek.com/v1`` is an alias.
        docs="https://api-docs.deepseek.com/api/create-chat-completion",
        quirks=_SYSTEM_ROLE,
        excluded=_OPENAI_PLATFORM | {p.SEED, p.N, p.LOGIT_BIAS, p.PARALLEL_TOOL_CALLS, p.REASONING_EFFORT, p.USER},
    ),
    Profile(
        name="openrouter",
        description="OpenRouter (OpenAI-compatible router to many vendors)",
        base_url="https://openrouter.ai/api/v1",
        key_env="OPENROUTER_API_KEY",
        key_required=True,
        # "Parameters" lists no ``n``. ``GET /models`` is public, so it cannot check a key:
        # verification uses ``GET /key`` ("Get current API key"), free and authenticated.
        docs="https://openrouter.ai/docs/api-reference/parameters",
        quirks=_SYSTEM_ROLE,
        excluded=_OPENAI_PLATFORM | {p.N},
        embeddings=True,
        verify_path="key",
    ),
    Profile(
        name="fireworks",
        description="Fireworks AI (OpenAI-compatible API)",
        base_url="https://api.fireworks.ai/inference/v1",
        key_env="FIREWORKS_API_KEY",
        key_required=True,
        # "Not supported options": presence_penalty, frequency_penalty. Usage comes in the last stream
        # chunk without being asked for, so no stream_options is sent.
        docs="https://docs.fireworks.ai/tools-sdks/openai-compatibility",
        quirks=Quirks(developer_role=False, max_tokens_field="max_tokens", stream_usage=False),
        excluded=_OPENAI_PLATFORM | {p.PRESENCE_PENALTY, p.FREQUENCY_PENALTY},
        embeddings=True,
    ),
    Profile(
        name="xai",
        description="xAI Grok (OpenAI-compatible API)",
        base_url="https://api.x.ai/v1",
        key_env="XAI_API_KEY",
        key_required=True,
        # Chat Completions reference: max_tokens, n, penalties, stop, tools, tool_choice, seed, logprobs,
        # response_format, reasoning_effort, stream_options (reasoning models reject penalties and stop
        # upstream, per model). No embeddings endpoint is documented.
        docs="https://docs.x.ai/docs/api-reference#chat-completions",
        quirks=_SYSTEM_ROLE,
    ),
    Profile(
        name="ollama",
        description="Ollama (local server, OpenAI-compatible /v1)",
        base_url="http://localhost:11434/v1",
        key_env="OLLAMA_API_KEY",
        key_required=False,
        # "Supported request fields" has no parallel_tool_calls; /v1/embeddings takes dimensions.
        # A key is only needed for ollama.com's cloud API.
        docs="https://docs.ollama.com/api/openai-compatibility",
        quirks=_SYSTEM_ROLE,
        excluded=_OPENAI_PLATFORM | {p.PARALLEL_TOOL_CALLS},
        embeddings=True,
    ),
    Profile(
        name="vllm",
        description="vLLM (self-hosted OpenAI-compatible server)",
        base_url="http://localhost:8000/v1",
        key_env="VLLM_API_KEY",
        key_required=False,
        # Implements the Chat and Embeddings APIs (max_tokens and max_completion_tokens both);
        # a key only when started with ``--api-key``.
        docs="https://docs.vllm.ai/en/stable/serving/openai_compatible_server.html",
        quirks=Quirks(developer_role=False, max_tokens_field=None),
        embeddings=True,
    ),
    Profile(
        name="llamacpp",
        description="llama.cpp llama-server or llama-cpp-python's llama_cpp.server (self-hosted, OpenAI-compatible)",
        base_url="http://localhost:8080/v1",
        key_env="LLAMACPP_API_KEY",
        key_required=False,
        # The server rejects n != 1 ("Only one completion choice is allowed") and has no reasoning_effort;
        # /v1/embeddings needs ``--embedding`` and takes no dimensions; a key only with ``--api-key``.
        # It may ignore stream_options.include_usage, in which case a stream's usage stays unknown.
        # llama-cpp-python's server (its server/types.py) takes max_tokens and ignores max_completion_tokens
        # and stream_options; tests/realmodel runs the gateway against it.
        docs="https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md",
        quirks=_NO_DIMENSIONS,
        excluded=_OPENAI_PLATFORM | {p.N, p.REASONING_EFFORT},
        embeddings=True,
        embedding_excluded=frozenset({p.DIMENSIONS}),
    ),
)
