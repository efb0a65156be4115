"""Token estimates made before any provider is called: what a tokens-per-minute reservation
holds, and the input a record counts when the provider never reported it (a stream that ended
early).

No tokenizer: providers tokenize differently, and the estimate only has to be cheap and of
the right size until the provider's own count replaces it. Text counts one token per four
bytes of UTF-8 (OpenAI's rule of thumb for English; it gives about 0.75 token per CJK
character, where tokenizers give about one). Each chat message adds ``MESSAGE_TOKENS`` and the
reply ``REPLY_TOKENS`` (the overhead of OpenAI's chat format); each image part counts
``IMAGE_TOKENS`` (a 1024x1024 image at high detail in OpenAI's pricing), whatever its size.
Tool definitions count their name, description and JSON schema as text.

The output part is the most the request allows: ``max_completion_tokens`` (or ``max_tokens``)
times ``n``, or ``default_output`` times ``n`` when the request sets no limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from gateway.core import params as p
from gateway.core.messages import AssistantMessage, ImagePart, Message, SystemMessage, ToolDefinition, ToolMessage
from gateway.core.params import ModelParameters
from gateway.core.requests import ChatCall

BYTES_PER_TOKEN = 4
MESSAGE_TOKENS = 4
REPLY_TOKENS = 3
IMAGE_TOKENS = 765


@dataclass(frozen=True, slots=True)
class TokenEstimate:
    """Estimated prompt tokens and the most output tokens the request may produce."""

    input: int
    output: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output


def text_tokens(text: str) -> int:
    """``text`` at one token per four UTF-8 bytes, rounded up."""
    return -(-len(text.encode("utf-8", "surrogatepass")) // BYTES_PER_TOKEN)


def _message_tokens(message: Message) -> int:
    if isinstance(message, SystemMessage):
        return MESSAGE_TOKENS + text_tokens(message.content)
    named = MESSAGE_TOKENS + text_tokens(message.name or "")
    if isinstance(message, ToolMessage):
        return named + text_tokens(message.content)
    if isinstance(message, AssistantMessage):
        calls = sum(text_tokens(call.name) + text_tokens(call.arguments) for call in message.tool_calls)
        return named + text_tokens(message.content or "") + text_tokens(message.refusal or "") + calls
    return named + sum(IMAGE_TOKENS if isinstance(part, ImagePart) else text_tokens(part.text)
                       for part in message.parts)


def _tool_tokens(tool: ToolDefinition) -> int:
    schema = orjson.dumps(tool.parameters).decode() if tool.parameters else ""
    return text_tokens(tool.name) + text_tokens(tool.description or "") + text_tokens(schema)


def chat(call: ChatCall, default_output: int) -> TokenEstimate:
    """The estimate of a chat request (see the module docstring)."""
    prompt = REPLY_TOKENS + sum(_message_tokens(m) for m in call.messages) + sum(_tool_tokens(t) for t in call.tools)
    parameters = ModelParameters(call.parameters)
    limit = parameters.get_int(p.MAX_COMPLETION_TOKENS)
    choices = parameters.get_int(p.N) or 1
    return TokenEstimate(prompt, max(0, default_output if limit is None else limit) * max(1, choices))


def texts(values: Iterable[str]) -> TokenEstimate:
    """The estimate of an embedding or rerank request: its texts, no output."""
    return TokenEstimate(sum(text_tokens(value) for value in values))
