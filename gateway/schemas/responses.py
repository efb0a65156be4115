"""Outbound bodies, for the OpenAPI document only.

The routes build their JSON by hand (``gateway.api.render``) and declare these
models in ``responses=`` so ``/openapi.json`` describes what they really send;
``install_response_docs`` documents the OpenAI error envelope as every operation's
``4XX``/``5XX`` answer (in place of FastAPI's 422, which this API never sends: a
body that fails validation is a 400 envelope), registers the schemas the chat
stream's events refer to (``CHAT_STREAM_EVENT``), and writes the inference request
bodies' schemas as pydantic states them: FastAPI's document model turns every numeric
bound into a float, and the 64-bit bound ``2**63 - 1`` does not survive that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field

from gateway.schemas.openai import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, RerankRequest


class ErrorObject(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """The OpenAI error envelope."""

    error: ErrorObject


class FunctionCallOut(BaseModel):
    name: str
    arguments: str


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"]
    function: FunctionCallOut


class ChatMessageOut(BaseModel):
    role: Literal["assistant"]
    content: str | None
    refusal: str | None
    tool_calls: list[ToolCallOut] | None = None
    reasoning_content: str | None = None


class ChatChoiceOut(BaseModel):
    index: int
    message: ChatMessageOut
    logprobs: dict[str, Any] | None
    finish_reason: str


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: dict[str, int] | None = None
    completion_tokens_details: dict[str, int] | None = None


class ChatCompletionResponse(BaseModel):
    """``stream: true`` answers ``text/event-stream`` instead: ``chat.completion.chunk`` frames, then ``[DONE]``."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoiceOut]
    usage: UsageOut
    system_fingerprint: str | None = None
    service_tier: str | None = None


class ToolCallDeltaOut(BaseModel):
    index: int
    id: str
    type: Literal["function"]
    function: FunctionCallOut


class ChunkDeltaOut(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    refusal: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDeltaOut] | None = None


class ChunkChoiceOut(BaseModel):
    index: int
    delta: ChunkDeltaOut
    finish_reason: str | None
    logprobs: dict[str, Any] | None = None


class ChatCompletionChunk(BaseModel):
    """One ``data:`` frame of a chat stream; the last one carries ``usage`` when asked for."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoiceOut]
    usage: UsageOut | None = None


def _data_stream_event(what: str, chunk_schema: str) -> dict[str, Any]:
    """The schema of one ``data:`` Server-Sent Event of an OpenAI-style stream: a ``chunk_schema``
    object, an error envelope (then the stream ends), or the final ``[DONE]``."""
    return {
        "type": "object",
        "description": f"One Server-Sent Event: {what}, an error envelope (then the stream ends), or the final [DONE].",
        "required": ["data"],
        "properties": {"data": {"anyOf": [
            {"const": "[DONE]"},
            {"not": {"const": "[DONE]"}, "contentMediaType": "application/json", "contentSchema": {"anyOf": [
                {"$ref": f"#/components/schemas/{chunk_schema}"},
                {"$ref": "#/components/schemas/ErrorResponse"},
            ]}},
        ]}},
    }


CHAT_STREAM_EVENT = _data_stream_event("a chat.completion.chunk", "ChatCompletionChunk")


class TextChoiceOut(BaseModel):
    text: str
    index: int
    logprobs: dict[str, Any] | None
    finish_reason: Literal["stop", "length", "content_filter"]


class TextCompletionResponse(BaseModel):
    """``stream: true`` answers ``text/event-stream`` instead: ``text_completion`` chunks, then ``[DONE]``."""

    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[TextChoiceOut]
    usage: UsageOut
    system_fingerprint: str | None = None


class TextChunkChoiceOut(BaseModel):
    text: str
    index: int
    logprobs: dict[str, Any] | None
    finish_reason: Literal["stop", "length", "content_filter"] | None


class TextCompletionChunk(BaseModel):
    """One ``data:`` frame of a legacy completion stream; the last one carries ``usage`` when asked for."""

    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[TextChunkChoiceOut]
    usage: UsageOut | None = None


TEXT_COMPLETION_STREAM_EVENT = _data_stream_event("a text_completion chunk", "TextCompletionChunk")


class EmbeddingOut(BaseModel):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str = Field(description="floats, or base64 of little-endian float32")


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingListResponse(BaseModel):
    object: Literal["list"]
    data: list[EmbeddingOut]
    model: str
    usage: EmbeddingUsage


class RerankResultOut(BaseModel):
    index: int
    relevance_score: float
    document: dict[str, Any] | None = None


class RerankUsage(BaseModel):
    total_tokens: int
    prompt_tokens: int | None = None


class RerankResponse(BaseModel):
    id: str
    object: Literal["rerank"]
    model: str
    results: list[RerankResultOut]
    usage: RerankUsage


class ModelOut(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelListResponse(BaseModel):
    object: Literal["list"]
    data: list[ModelOut]


class ProviderOut(BaseModel):
    name: str
    description: str
    capabilities: dict[str, bool]
    configured: bool
    credential_keys: list[str]
    environment: list[str]


class ProviderListResponse(BaseModel):
    object: Literal["list"]
    data: list[ProviderOut]


class VerifyCredentialResponse(BaseModel):
    provider: str
    valid: bool
    message: str | None


class HealthResponse(BaseModel):
    status: Literal["ok"]


class ReadinessResponse(BaseModel):
    """200 ``ready``, or 503 ``degraded`` when the database does not answer."""

    status: Literal["ready", "degraded"]
    database: Literal["ok", "unreachable"]
    rate_limiter: Literal["ok", "unreachable"]
    records_buffered: int
    checked_in_ms: float


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    models: list[str] | None
    rpm: int | None
    tpm: int | None
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class CreatedKeyResponse(ApiKeyOut):
    key: str = Field(description="the clear key; shown in this response only")


class KeyListResponse(BaseModel):
    object: Literal["list"]
    data: list[ApiKeyOut]


class KeyRevokedResponse(BaseModel):
    id: str
    revoked: Literal[True]


class ActivityPageResponse(BaseModel):
    object: Literal["list"]
    data: list[dict[str, Any]]
    next_cursor: str | None
    has_more: bool


def ok(model: type[BaseModel], status: int = 200) -> dict[int | str, dict[str, Any]]:
    """A ``responses=`` entry declaring ``model`` as the success body."""
    return {status: {"model": model}}


def _error_entry(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}


def _components() -> dict[str, Any]:
    components: dict[str, Any] = {}
    for model in (ErrorResponse, ChatCompletionChunk, ChatCompletionRequest, EmbeddingRequest, RerankRequest,
                  TextCompletionChunk, CompletionRequest):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    return components


def with_error_responses(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the error envelope as every operation's ``4XX`` and ``5XX`` answer,
    and FastAPI's default 422 (never sent) removed."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            default_422 = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema")
            if default_422 == {"$ref": "#/components/schemas/HTTPValidationError"}:
                del responses["422"]
            responses.setdefault("4XX", _error_entry("A request error, as the OpenAI error envelope."))
            responses.setdefault("5XX", _error_entry("A gateway or upstream failure, as the OpenAI error envelope."))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_components())
    if "HTTPValidationError" not in str(document.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return document


def install_response_docs(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document with ``with_error_responses`` applied."""
    build: Callable[[], dict[str, Any]] = app.openapi
    done: list[bool] = []

    def openapi() -> dict[str, Any]:
        document = build()
        if not done:
            with_error_responses(document)
            done.append(True)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
