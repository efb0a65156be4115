"""What the Anthropic routes answer, for ``/openapi.json`` (the bodies are built in ``render``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    type: str
    message: str


class AnthropicErrorResponse(BaseModel):
    """Anthropic's error envelope."""

    type: Literal["error"]
    error: ErrorDetail
    request_id: str | None = None


class MessageUsage(BaseModel):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class MessageResponse(BaseModel):
    """A Message object; ``content`` holds ``text``, ``tool_use`` and ``thinking`` blocks
    (and, relayed from a provider speaking the format, whatever block types it sends)."""

    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[dict[str, Any]]
    stop_reason: str | None
    stop_sequence: str | None
    usage: MessageUsage


class CountTokensResponse(BaseModel):
    """The provider's count where it has one, else the gateway's estimate."""

    input_tokens: int


STREAM_EVENT_TYPES = ("message_start", "content_block_start", "content_block_delta", "content_block_stop",
                      "message_delta", "message_stop", "ping", "error")

STREAM_EVENT: dict[str, Any] = {
    "type": "object",
    "description": "One Server-Sent Event of a Messages stream, its JSON data's 'type' naming the event.",
    "required": ["data"],
    "properties": {
        "event": {"type": "string"},
        "data": {"contentMediaType": "application/json", "contentSchema": {
            "type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}}},
    },
}


def _errors() -> dict[int | str, dict[str, Any]]:
    return {"4XX": {"model": AnthropicErrorResponse, "description": "A request error, as Anthropic's envelope."},
            "5XX": {"model": AnthropicErrorResponse, "description": "A gateway or upstream failure, as "
                                                                     "Anthropic's envelope."}}


MESSAGES_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": MessageResponse, "content": {"text/event-stream": {"schema": STREAM_EVENT}}},
    **_errors(),
}
COUNT_TOKENS_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"model": CountTokensResponse}, **_errors()}
