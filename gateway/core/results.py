"""What callers produce: neutral results and stream events.

Streaming contract (the seed's three guarantees):

* ``TextDelta`` - one per upstream text delta, yielded as it arrives;
* ``ToolCallEvent`` - each tool call exactly once, complete (id, name, arguments);
* ``StreamEnd`` - exactly once, last, carrying the accumulated result and usage.

A caller's stream raises a ``gateway.errors.GatewayError`` on failure; it never
yields an error event. Whoever iterates the stream closes it (``aclose``), which
closes the upstream response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from gateway.core.json import JSONValue
from gateway.core.messages import ToolCall

FinishReason: TypeAlias = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the provider reported them; ``None`` means not reported."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None

    @property
    def total(self) -> int | None:
        if self.total_tokens is not None:
            return self.total_tokens
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)


@dataclass(frozen=True, slots=True)
class Choice:
    """One completion choice; ``index`` is OpenAI's choice index."""

    index: int = 0
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: FinishReason | None = "stop"
    refusal: str | None = None
    reasoning: str | None = None
    logprobs: JSONValue = None


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A whole completion: the non-streaming answer, and the tail of every stream."""

    choices: tuple[Choice, ...]
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    provider_request_id: str | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str
    index: int = 0
    logprobs: JSONValue = None


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Reasoning or thinking text, for providers that expose it."""

    text: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    """A completed tool call. ``position`` is its order among the choice's calls."""

    tool_call: ToolCall
    position: int
    index: int = 0


@dataclass(frozen=True, slots=True)
class StreamEnd:
    result: ChatResult


StreamEvent: TypeAlias = TextDelta | ReasoningDelta | ToolCallEvent | StreamEnd


@dataclass(frozen=True, slots=True)
class Embedding:
    index: int
    vector: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    embeddings: tuple[Embedding, ...]
    usage: Usage = field(default_factory=Usage)
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Ranking:
    """``index`` points into the documents as given; results are sorted by score."""

    index: int
    relevance_score: float


@dataclass(frozen=True, slots=True)
class RerankResult:
    results: tuple[Ranking, ...]
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    provider_request_id: str | None = None


@dataclass(frozen=True, slots=True)
class ListedModel:
    """One model a provider's list call names: its id there and, if given, its Unix creation time."""

    id: str
    created: int | None = None


@dataclass(frozen=True, slots=True)
class Verification:
    """Outcome of a credential check; ``detail`` never contains the credential."""

    valid: bool
    detail: str
