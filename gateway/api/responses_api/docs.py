"""Outbound ``/v1/responses`` bodies, for the OpenAPI document only (the routes build their JSON
in ``render``); output and input items are described as objects with a ``type``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class ItemOut(BaseModel):
    type: str
    id: str | None = None


class ErrorOut(BaseModel):
    code: str
    message: str


class IncompleteOut(BaseModel):
    reason: Literal["max_output_tokens", "content_filter"]


class ResponseUsageOut(BaseModel):
    input_tokens: int
    input_tokens_details: dict[str, int]
    output_tokens: int
    output_tokens_details: dict[str, int]
    total_tokens: int


class ResponseObject(BaseModel):
    """``stream: true`` answers ``text/event-stream`` instead: named events (``event: response.created``
    ... ``response.completed``, ``response.incomplete`` or ``response.failed``)."""

    id: str
    object: Literal["response"]
    created_at: int
    status: Literal["completed", "incomplete", "failed", "in_progress"]
    completed_at: int | None
    error: ErrorOut | None
    incomplete_details: IncompleteOut | None
    instructions: str | None
    max_output_tokens: int | None
    model: str
    output: list[ItemOut]
    parallel_tool_calls: bool
    previous_response_id: str | None
    reasoning: dict[str, Any]
    store: bool
    temperature: float | None
    text: dict[str, Any]
    tool_choice: str | dict[str, Any]
    tools: list[dict[str, Any]]
    top_p: float | None
    truncation: Literal["disabled"]
    usage: ResponseUsageOut | None = None
    user: str | None = None
    metadata: dict[str, str]


class ResponseDeleted(BaseModel):
    id: str
    object: Literal["response"]
    deleted: Literal[True]


class InputItemList(BaseModel):
    object: Literal["list"]
    data: list[ItemOut]
    first_id: str
    last_id: str
    has_more: bool


RESPONSE_STREAM_EVENT: dict[str, Any] = {
    "type": "object",
    "description": "One Server-Sent Event of the Responses stream: the event type, and its JSON payload.",
    "required": ["data"],
    "properties": {
        "event": {"type": "string"},
        "data": {"contentMediaType": "application/json", "contentSchema": {
            "type": "object", "required": ["type", "sequence_number"],
            "properties": {"type": {"type": "string"}, "sequence_number": {"type": "integer"}},
        }},
    },
}
