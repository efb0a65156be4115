"""The caller contract, in the seed's vocabulary.

Every provider implements up to four protocols - ``LargeLanguageCaller``,
``EmbeddingCaller``, ``RerankingCaller`` and ``Verifier`` (plus, optionally, a
``ModelLister`` for ``GET /v1/models`` and a ``TextCompletionCaller`` for a native
``POST /v1/completions``) - and describes itself
with a ``ProviderSpec``. Callers receive neutral messages, the ``model.*`` map
and tool definitions; they return neutral results (``gateway.core.results``)
and raise ``gateway.errors.GatewayError`` subclasses. They never build
client-facing bytes.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from gateway.core.messages import Message, ToolDefinition
from gateway.core.native import NativeEvent, NativeReply, NativeRequest
from gateway.core.params import ModelParameters
from gateway.core.results import (
    ChatResult,
    EmbeddingResult,
    ListedModel,
    RerankResult,
    StreamEvent,
    Verification,
)

PreHook = Callable[[Mapping[str, Any]], None]
"""Called with the provider request body just before it is sent."""
PostHook = Callable[[Mapping[str, Any]], None]
"""Called with the provider's (final) response body, or ``{"error": ...}``."""


class Credential:
    """A provider's secrets, keyed as in the seed (``key``, ``subscription_key``, ...).

    Its ``repr`` and ``str`` name the keys only, so a credential that slips into a
    log line or an exception message shows no secret.
    """

    __slots__ = ("_hash", "_values")

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = {k: v for k, v in (values or {}).items() if v}
        self._hash: int | None = None

    def get(self, key: str) -> str | None:
        return self._values.get(key)

    def require(self, key: str, provider: str) -> str:
        from gateway.errors import missing_credential

        value = self._values.get(key)
        if not value:
            raise missing_credential(f"No '{key}' credential is configured for provider '{provider}'.", provider)
        return value

    def keys(self) -> list[str]:
        return sorted(self._values)

    def secrets(self) -> list[str]:
        """The secret values, for redaction filters only."""
        return [v for k, v in self._values.items() if k not in _NON_SECRET_KEYS]

    def merged(self, other: Credential) -> Credential:
        """``other`` wins where both have a key."""
        return Credential({**self._values, **other._values})

    def __bool__(self) -> bool:
        return bool(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Credential) and other._values == self._values

    def __hash__(self) -> int:
        """Computed once: a credential keys every attempt's bound callers and cooldowns."""
        if self._hash is None:
            self._hash = hash(tuple(sorted(self._values.items())))
        return self._hash

    def __repr__(self) -> str:
        return f"Credential(keys={self.keys()!r})"

    __str__ = __repr__


_NON_SECRET_KEYS = frozenset(
    {"base_url", "endpoint", "api_version", "project_id", "region", "location", "organization", "hub_url",
     "inference_url", "responses_api"}
)
DESTINATION_KEYS = frozenset({"base_url", "endpoint", "hub_url", "inference_url", "project_id", "region", "location"})
"""Credential keys that decide where a request (and the secret with it) goes."""
URL_KEYS = frozenset({"base_url", "endpoint", "hub_url", "inference_url"})
"""Destination keys whose values are URLs."""


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who asked: the gateway request id and the client's metadata."""

    request_id: str
    llm_request_id: int = 0
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AIOptions:
    request: RequestContext
    model_parameter: ModelParameters
    pre_hook: PreHook | None = None
    post_hook: PostHook | None = None

    def before(self, body: Mapping[str, Any]) -> None:
        """Run the pre-hook, if any, with the provider request body."""
        if self.pre_hook is not None:
            self.pre_hook(body)

    def after(self, body: Mapping[str, Any]) -> None:
        """Run the post-hook, if any, with the provider response body."""
        if self.post_hook is not None:
            self.post_hook(body)

    @property
    def model(self) -> str:
        """The upstream model name (``model.name``); raises if absent."""
        from gateway.errors import InvalidRequestError

        name = self.model_parameter.get_str("model.name")
        if not name:
            raise InvalidRequestError("'model' is required.", param="model")
        return name


@dataclass(frozen=True, slots=True)
class ChatCompletionOptions(AIOptions):
    """``extra_body``: top-level body fields the gateway does not model, to send unchanged; only a
    provider declaring ``ProviderSpec.openai_format`` gets a non-empty one."""

    tool_definitions: Sequence[ToolDefinition] = ()
    extra_body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EmbeddingOptions(AIOptions):
    """``token_input``: token arrays to embed instead of ``inputs`` (then empty); only a provider
    declaring ``ProviderSpec.openai_format`` gets one."""

    token_input: Sequence[int] | Sequence[Sequence[int]] | None = None


@dataclass(frozen=True, slots=True)
class TextCompletionOptions(AIOptions):
    pass


@dataclass(frozen=True, slots=True)
class RerankerOptions(AIOptions):
    pass


@dataclass(frozen=True, slots=True)
class CredentialVerifierOptions:
    request: RequestContext


class LargeLanguageCaller(Protocol):
    async def get_chat_completion(
        self, messages: Sequence[Message], options: ChatCompletionOptions
    ) -> ChatResult:
        """One whole completion. Raises ``GatewayError`` on failure."""
        ...

    def stream_chat_completion(
        self, messages: Sequence[Message], options: ChatCompletionOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        """Deltas as they arrive, completed tool calls once each, then one ``StreamEnd``.

        The iterator owns the upstream response and closes it when it finishes
        or is closed (``aclose``) by the consumer.
        """
        ...


class EmbeddingCaller(Protocol):
    async def get_embedding(self, inputs: Sequence[str], options: EmbeddingOptions) -> EmbeddingResult:
        """One vector per input, ``index`` matching the input's position."""
        ...


class TextCompletionCaller(Protocol):
    async def get_text_completion(self, body: Mapping[str, Any], options: TextCompletionOptions) -> ChatResult:
        """One whole legacy completion of the client's ``body`` (``model`` aside); each choice's
        text is its ``content``. Raises ``GatewayError`` on failure."""
        ...

    def stream_text_completion(
        self, body: Mapping[str, Any], options: TextCompletionOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        """Text deltas as they arrive, then one ``StreamEnd``; the iterator owns the upstream
        response and closes it when it finishes or is closed by the consumer."""
        ...


class RerankingCaller(Protocol):
    async def get_reranking(
        self, query: str, documents: Sequence[str], options: RerankerOptions
    ) -> RerankResult:
        """Results sorted by relevance, ``index`` pointing into ``documents``."""
        ...


class Verifier(Protocol):
    async def verify_credential(self, options: CredentialVerifierOptions) -> Verification:
        """Check the credential with the provider's cheapest call (never a paid one
        when a free one exists). An invalid credential is ``valid=False``; a
        provider outage raises ``GatewayError``."""
        ...


class ModelLister(Protocol):
    async def list_models(self) -> Sequence[ListedModel]:
        """The models the provider's free list call names for this credential (upstream ids).
        Raises ``GatewayError`` on failure."""
        ...


class NativeCaller(Protocol):
    """Relays requests in the provider's own wire format (a key of ``ProviderSpec.natives``):
    the body goes upstream unchanged but for ``options.model``, with the provider's credential."""

    async def send(self, request: NativeRequest, options: AIOptions) -> NativeReply:
        """The whole answer. Raises ``GatewayError`` on failure."""
        ...

    def stream(self, request: NativeRequest, options: AIOptions) -> AsyncGenerator[NativeEvent, None]:
        """Each upstream event as a ``NativeFrame``, then one ``NativeEnd``. An error event or a
        truncated stream raises ``GatewayError``; the iterator closes the upstream response."""
        ...

    async def count_tokens(self, request: NativeRequest, options: AIOptions) -> int:
        """The provider's own count of the request's input tokens."""
        ...


@runtime_checkable
class NativeResources(Protocol):
    """A relay whose format keeps resources upstream (stored Responses): reads and deletes of
    them go to the provider that holds them."""

    async def resource(self, method: str, path: str, params: Mapping[str, str], options: AIOptions) -> NativeReply:
        """``method`` on ``path`` (relative to the format's collection, e.g. ``resp_1/input_items``)
        with query ``params``: the upstream answer, its status kept (a 404 stays a 404)."""
        ...


class TokenCounter(Protocol):
    async def count_tokens(self, messages: Sequence[Message], options: ChatCompletionOptions) -> int:
        """The provider's own count of the input tokens ``messages`` and the tools make (free)."""
        ...


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 10.0
    read: float = 600.0
    total: float = 900.0
    stream_idle: float = 120.0


@dataclass(frozen=True, slots=True)
class CallerContext:
    """What a provider factory gets: the shared HTTP client and the credential."""

    provider: str
    http: httpx.AsyncClient
    credential: Credential
    timeouts: Timeouts = field(default_factory=Timeouts)


@dataclass(frozen=True, slots=True)
class Capabilities:
    chat: bool = False
    stream: bool = False
    tools: bool = False
    embeddings: bool = False
    rerank: bool = False
    verify: bool = False

    def as_dict(self) -> dict[str, bool]:
        return {
            "chat": self.chat,
            "stream": self.stream,
            "tools": self.tools,
            "embeddings": self.embeddings,
            "rerank": self.rerank,
            "verify": self.verify,
        }


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """A provider's self-description, registered under ``name``.

    ``credential_env`` maps seed credential keys to environment variables
    (``{"key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL"}``); the settings
    module reads them. ``required_credentials`` lists the keys without which the
    provider counts as unconfigured; a tuple entry means any one of those keys. ``chat_parameters`` and
    ``embedding_parameters`` list the ``model.*`` keys the callers honour; any other
    key in a request is refused (or dropped, if the operator allows).
    """

    name: str
    description: str
    credential_env: Mapping[str, str]
    required_credentials: tuple[str | tuple[str, ...], ...]
    llm: Callable[[CallerContext], LargeLanguageCaller] | None = None
    embedding: Callable[[CallerContext], EmbeddingCaller] | None = None
    reranking: Callable[[CallerContext], RerankingCaller] | None = None
    verifier: Callable[[CallerContext], Verifier] | None = None
    streaming: bool = True
    tools: bool = True
    chat_parameters: frozenset[str] = frozenset()
    embedding_parameters: frozenset[str] = frozenset()
    rerank_parameters: frozenset[str] = frozenset()
    file_credentials: frozenset[str] = frozenset()
    """Credential keys whose value may be a local file path (read by the caller); a credential
    from a request body must give their content inline instead."""
    models: Callable[[CallerContext], ModelLister] | None = None
    """The provider's model-list call, for ``GET /v1/models``; ``None``: it has none."""
    text_completion: Callable[[CallerContext], TextCompletionCaller] | None = None
    """A native ``/v1/completions`` call; ``None``: completions are translated through chat."""
    openai_format: bool = False
    """The upstream speaks OpenAI's wire format, so the gateway is a transparent door to it:
    top-level chat fields it does not model are forwarded unchanged, and so are token-array
    embedding inputs. Other providers refuse both with a 400 naming the field."""
    natives: Mapping[str, Callable[[CallerContext], NativeCaller | None]] = field(default_factory=dict)
    """The wire formats a front door relays to this provider as the client sent them (see
    ``gateway.core.native``), each with its relay's factory; a factory answering ``None`` for a
    context (its credential says so) leaves that deployment to translation."""
    token_counter: Callable[[CallerContext], TokenCounter] | None = None
    """The provider's token-count call for neutral messages; ``None``: it has none."""

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            chat=self.llm is not None,
            stream=self.llm is not None and self.streaming,
            tools=self.llm is not None and self.tools,
            embeddings=self.embedding is not None,
            rerank=self.reranking is not None,
            verify=self.verifier is not None,
        )

    def missing_credentials(self, credential: Credential) -> list[str]:
        """Required keys (or ``a|b`` any-of groups) the credential lacks."""
        missing = []
        for need in self.required_credentials:
            group = (need,) if isinstance(need, str) else need
            if not any(credential.get(key) for key in group):
                missing.append("|".join(group))
        return missing

    def is_configured(self, credential: Credential) -> bool:
        return not self.missing_credentials(credential)
