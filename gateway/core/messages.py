"""Neutral chat messages: what every caller receives, whatever the client spoke.

The API layer builds these from OpenAI bodies; callers translate them to their
provider's wire format. They are immutable and carry no provider detail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image given by URL; ``data:`` URLs carry inline base64 content."""

    url: str
    detail: str | None = None

    @property
    def is_data_url(self) -> bool:
        return self.url.startswith("data:")

    def split_data_url(self) -> tuple[str, str]:
        """Return ``(media_type, base64_data)`` of a ``data:`` URL; raises ``ValueError`` otherwise."""
        if not self.is_data_url or ";base64," not in self.url:
            raise ValueError("not a base64 data URL")
        head, data = self.url[5:].split(";base64,", 1)
        return head or "application/octet-stream", data


ContentPart: TypeAlias = TextPart | ImagePart


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete function call: ``arguments`` is the JSON text the model produced."""

    id: str
    name: str
    arguments: str
    type: Literal["function"] = "function"


@dataclass(frozen=True, slots=True)
class SystemMessage:
    """System or developer instructions (``role`` keeps which one the client sent)."""

    content: str
    role: Literal["system", "developer"] = "system"


@dataclass(frozen=True, slots=True)
class UserMessage:
    parts: tuple[ContentPart, ...]
    name: str | None = None
    role: Literal["user"] = "user"

    @property
    def text(self) -> str:
        """All text parts joined; image parts are skipped."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))


@dataclass(frozen=True, slots=True)
class AssistantMessage:
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    refusal: str | None = None
    name: str | None = None
    role: Literal["assistant"] = "assistant"


@dataclass(frozen=True, slots=True)
class ToolMessage:
    """The result of one tool call, matched to it by ``tool_call_id``."""

    tool_call_id: str
    content: str
    name: str | None = None
    role: Literal["tool"] = "tool"


Message: TypeAlias = SystemMessage | UserMessage | AssistantMessage | ToolMessage


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """A function the model may call; ``parameters`` is a JSON Schema object."""

    name: str
    description: str | None = None
    parameters: dict[str, object] = field(default_factory=dict)
    strict: bool | None = None
    type: Literal["function"] = "function"
