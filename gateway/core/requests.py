"""Neutral requests as the service layer receives them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.core.messages import Message, ToolDefinition

TokenInput = Sequence[int] | Sequence[Sequence[int]]
"""Token ids as OpenAI takes them in place of text: one array, or one array per input."""


@dataclass(frozen=True, slots=True)
class ChatCall:
    """A chat request in neutral form, plus how the client wants the answer.

    ``extra``: the client's top-level body fields the gateway does not model, unchanged (JSON
    values under JSON object keys); only a provider that speaks OpenAI's format receives them.
    """

    messages: tuple[Message, ...]
    parameters: dict[str, Any]
    tools: tuple[ToolDefinition, ...]
    stream: bool
    include_usage: bool
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TextCall:
    """A legacy text completion (``POST /v1/completions``).

    ``body``: the client's body without ``model``, for providers with a native completions call.
    ``chats``: one chat call per prompt, for the rest; ``refused`` names the first field a chat
    translation cannot honour (``None``: none), which such a provider answers with a 400.
    """

    body: Mapping[str, Any]
    chats: tuple[ChatCall, ...]
    refused: str | None
    stream: bool
    include_usage: bool
