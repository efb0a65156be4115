"""Inbound Anthropic Messages bodies (``POST /v1/messages``, ``/v1/messages/count_tokens``).

Reference: Anthropic API docs, "Messages" and "Token counting". Fields are strictly typed as
the API checks them. Objects keep unknown fields (``extra="allow"``): the relay to a provider
speaking this format forwards them unchanged, and the translation refuses them by name. Content
blocks of a type the translation does not know are kept as ``OtherBlockIn`` (left out of the
JSON schema, like the other catch-alls), so they too reach the relay intact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag
from pydantic.json_schema import SkipJsonSchema

COUNT_MAX = 2**53
"""Bound of the integer fields: exact as a float, as the API document states numbers."""
Count = Annotated[int, Field(ge=1, le=COUNT_MAX)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class CacheControlIn(_Wire):
    type: Literal["ephemeral"]
    ttl: str | None = None


class TextBlockIn(_Wire):
    type: Literal["text"]
    text: str
    cache_control: CacheControlIn | None = None


class Base64SourceIn(_Wire):
    type: Literal["base64"]
    media_type: str = Field(min_length=1)
    data: str


class URLSourceIn(_Wire):
    type: Literal["url"]
    url: str = Field(min_length=1)


class ImageBlockIn(_Wire):
    type: Literal["image"]
    source: Annotated[Base64SourceIn | URLSourceIn, Field(discriminator="type")]
    cache_control: CacheControlIn | None = None


class ToolUseBlockIn(_Wire):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]
    cache_control: CacheControlIn | None = None


class ThinkingBlockIn(_Wire):
    type: Literal["thinking"]
    thinking: str
    signature: str


class RedactedThinkingBlockIn(_Wire):
    type: Literal["redacted_thinking"]
    data: str


class OtherBlockIn(_Wire):
    """A block type only a provider speaking this format takes (document, server tools, ...)."""

    type: str


def _tagger(*kinds: str) -> Callable[[Any], str]:
    def tag(value: Any) -> str:
        kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
        return kind if kind in kinds else "other"

    return tag


_Other = Annotated[SkipJsonSchema[OtherBlockIn], Tag("other")]
ResultBlockIn = Annotated[
    Annotated[TextBlockIn, Tag("text")] | Annotated[ImageBlockIn, Tag("image")] | _Other,
    Discriminator(_tagger("text", "image")),
]


class ToolResultBlockIn(_Wire):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[ResultBlockIn] | None = None
    is_error: bool | None = None
    cache_control: CacheControlIn | None = None


BlockIn = Annotated[
    Annotated[TextBlockIn, Tag("text")]
    | Annotated[ImageBlockIn, Tag("image")]
    | Annotated[ToolUseBlockIn, Tag("tool_use")]
    | Annotated[ToolResultBlockIn, Tag("tool_result")]
    | Annotated[ThinkingBlockIn, Tag("thinking")]
    | Annotated[RedactedThinkingBlockIn, Tag("redacted_thinking")]
    | _Other,
    Discriminator(_tagger("text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking")),
]


class MessageIn(_Wire):
    role: Literal["user", "assistant"]
    content: str | list[BlockIn]


class ToolIn(_Wire):
    """A client tool; a server tool (``type`` other than ``custom``) only a relay can take."""

    name: str = Field(min_length=1)
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    type: str | None = None
    cache_control: CacheControlIn | None = None


class ToolChoiceIn(_Wire):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class MetadataIn(_Wire):
    user_id: str | None = None


class ThinkingIn(_Wire):
    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: Count | None = None


class CountTokensRequest(_Wire):
    """The body of ``POST /v1/messages/count_tokens``."""

    model: str = Field(min_length=1)
    messages: list[MessageIn] = Field(min_length=1)
    system: str | list[TextBlockIn] | None = None
    tools: list[ToolIn] | None = None
    tool_choice: ToolChoiceIn | None = None
    thinking: ThinkingIn | None = None


class MessagesRequest(CountTokensRequest):
    """The body of ``POST /v1/messages``; ``max_tokens`` is required, as Anthropic requires it."""

    max_tokens: Count
    stream: bool | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: Count | None = None
    metadata: MetadataIn | None = None
