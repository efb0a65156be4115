"""Inbound Responses API bodies (``POST /v1/responses``) and the input items they carry.

Like the chat models, these are strict and keep unknown fields (``extra="allow"``) so the
translation step refuses them by name. ``input`` items are kept as JSON objects in the body
model and parsed by ``item_model`` per ``type``: items a client replays from an earlier
response carry fields (``id``, ``status``, ``annotations``) the gateway accepts and ignores.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.schemas.openai import Count, Metadata


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Closed(_Wire):
    model_config = ConfigDict(json_schema_extra={"additionalProperties": False})


class _Open(BaseModel):
    """An item or part as replayed by SDKs: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)


class InputText(_Open):
    type: Literal["input_text", "output_text", "text", "summary_text", "reasoning_text"]
    text: str


class InputImage(_Open):
    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


class Refusal(_Open):
    type: Literal["refusal"]
    refusal: str


class MessageItem(_Open):
    type: Literal["message"] = "message"
    role: Literal["user", "system", "developer", "assistant"]
    content: str | list[dict[str, Any]]


class FunctionCallItem(_Open):
    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str
    id: str | None = None


class FunctionCallOutputItem(_Open):
    type: Literal["function_call_output"]
    call_id: str
    output: str | list[dict[str, Any]]


class ReasoningItem(_Open):
    type: Literal["reasoning"]


class TextFormat(_Closed):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class TextOptions(_Closed):
    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningOptions(_Closed):
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None


class StreamOptions(_Closed):
    include_obfuscation: bool | None = None


class ResponseCreateRequest(_Closed):
    """``POST /v1/responses``. What only a native relay honours (built-in tools, ``background``,
    ``truncation: auto``, unknown fields) passes this model and is refused by name during
    translation; ``tools`` and ``tool_choice`` objects are checked by type there too."""

    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = None
    previous_response_id: str | None = None
    store: bool | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: TextOptions | None = None
    reasoning: ReasoningOptions | None = None
    max_output_tokens: Count | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    metadata: Metadata | None = None
    user: str | None = None
    safety_identifier: str | None = Field(default=None, max_length=64)
    service_tier: Literal["auto", "default", "flex", "scale", "priority"] | None = None
    include: list[str] | None = None
    truncation: Literal["disabled", "auto"] | None = None
    background: bool | None = None
