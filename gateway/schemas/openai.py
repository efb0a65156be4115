"""Inbound OpenAI request bodies.

Models keep unknown fields (``extra="allow"``) so the translation step can
refuse them by name instead of dropping them silently.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class TextPartIn(_Wire):
    type: Literal["text"]
    text: str


class ImageURLIn(_Wire):
    url: str = Field(min_length=1)
    detail: Literal["auto", "low", "high"] | None = None


class ImagePartIn(_Wire):
    type: Literal["image_url"]
    image_url: ImageURLIn


class RefusalPartIn(_Wire):
    type: Literal["refusal"]
    refusal: str


class OtherPartIn(_Wire):
    """A content part type the gateway does not translate (audio, file, ...)."""

    type: str


def _part_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in ("text", "image_url", "refusal") else "other"


ContentPartIn = Annotated[
    Annotated[TextPartIn, Tag("text")]
    | Annotated[ImagePartIn, Tag("image_url")]
    | Annotated[RefusalPartIn, Tag("refusal")]
    | Annotated[OtherPartIn, Tag("other")],
    Discriminator(_part_tag),
]


class SystemMessageIn(_Wire):
    role: Literal["system"]
    content: str | list[ContentPartIn]
    name: str | None = None


class DeveloperMessageIn(_Wire):
    role: Literal["developer"]
    content: str | list[ContentPartIn]
    name: str | None = None


class UserMessageIn(_Wire):
    role: Literal["user"]
    content: str | list[ContentPartIn]
    name: str | None = None


class FunctionCallIn(_Wire):
    name: str
    arguments: str


class ToolCallIn(_Wire):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallIn


class AssistantMessageIn(_Wire):
    role: Literal["assistant"]
    content: str | list[ContentPartIn] | None = None
    tool_calls: list[ToolCallIn] | None = None
    refusal: str | None = None
    name: str | None = None


class ToolMessageIn(_Wire):
    role: Literal["tool"]
    content: str | list[ContentPartIn]
    tool_call_id: str


class OtherMessageIn(_Wire):
    """A role the gateway does not accept (e.g. the deprecated ``function``)."""

    role: str


def _role_tag(value: Any) -> str:
    role = value.get("role") if isinstance(value, dict) else getattr(value, "role", None)
    return role if role in ("system", "developer", "user", "assistant", "tool") else "other"


MessageIn = Annotated[
    Annotated[SystemMessageIn, Tag("system")]
    | Annotated[DeveloperMessageIn, Tag("developer")]
    | Annotated[UserMessageIn, Tag("user")]
    | Annotated[AssistantMessageIn, Tag("assistant")]
    | Annotated[ToolMessageIn, Tag("tool")]
    | Annotated[OtherMessageIn, Tag("other")],
    Discriminator(_role_tag),
]


class FunctionDefinitionIn(_Wire):
    name: str = Field(pattern=r"^[a-zA-Z0-9_.\-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolIn(_Wire):
    type: Literal["function"]
    function: FunctionDefinitionIn


class NamedFunctionIn(_Wire):
    name: str


class NamedToolChoiceIn(_Wire):
    type: Literal["function"]
    function: NamedFunctionIn


class JSONSchemaIn(_Wire):
    name: str = Field(pattern=r"^[a-zA-Z0-9_\-]{1,64}$")
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormatIn(_Wire):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaIn | None = None


class StreamOptionsIn(_Wire):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class ChatCompletionRequest(_Wire):
    model: str = Field(min_length=1)
    messages: list[MessageIn] = Field(min_length=1)
    stream: bool | None = None
    stream_options: StreamOptionsIn | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=128)
    stop: str | list[str] | None = None
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    seed: int | None = None
    tools: list[ToolIn] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoiceIn | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormatIn | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    service_tier: str | None = None
    user: str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    logit_bias: dict[str, int] | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None


class EmbeddingRequest(_Wire):
    model: str = Field(min_length=1)
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None
    input_type: str | None = Field(default=None, description="Extension: query or document (search providers)")


class RerankRequest(_Wire):
    model: str = Field(min_length=1)
    query: str = Field(min_length=1)
    documents: list[str | dict[str, Any]] = Field(min_length=1)
    top_n: int | None = Field(default=None, ge=1)
    return_documents: bool = False


class VerifyCredentialRequest(_Wire):
    provider: str = Field(min_length=1)
    credential: dict[str, str] = Field(default_factory=dict)
