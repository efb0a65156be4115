"""Neutral requests as the service layer receives them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.core.messages import Message, ToolDefinition


@dataclass(frozen=True, slots=True)
class ChatCall:
    """A chat request in neutral form, plus how the client wants the answer."""

    messages: tuple[Message, ...]
    parameters: dict[str, Any]
    tools: tuple[ToolDefinition, ...]
    stream: bool
    include_usage: bool
