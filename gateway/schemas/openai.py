"""Inbound OpenAI request bodies.

Fields are strictly typed, as OpenAI's API checks them: ``"10"`` is not an integer,
``10.0`` is not an integer, ``1`` is not a boolean (an integer is a number). Every
integer is bounded, at most to the 64-bit range the body gate allows. Models keep
unknown fields (``extra="allow"``) so the translation step can refuse them by name
instead of dropping them silently; the JSON schema of an object whose unknown fields
the routes refuse says ``additionalProperties: false``. The top level of a chat or
completions body is open (``_Open``): unknown fields there go unchanged to upstreams
that speak OpenAI's format and are refused by name for the rest, after routing; their
names are bounded (``EXTRA_KEY_LENGTH``). The catch-all variants
(``OtherMessageIn``, ``OtherPartIn``), which exist only to name what is refused, are
left out of it, so ``/openapi.json`` declares what the routes accept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag
from pydantic.json_schema import SkipJsonSchema

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_EMBEDDING_INPUTS = 2048
"""OpenAI's limit on the items of an embeddings ``input`` array."""
MAX_DIMENSIONS = 65536
"""Upper bound of ``dimensions`` (OpenAI documents only ``minimum: 1``; no provider's vectors come near)."""
METADATA_PAIRS, METADATA_KEY_LENGTH, METADATA_VALUE_LENGTH = 16, 64, 512
"""OpenAI's ``Metadata``: at most 16 pairs, keys of at most 64 characters, string values of at most 512."""

EXTRA_KEY_LENGTH = 256
"""The longest name of a top-level body field the gateway does not model (it forwards such fields)."""
MAX_TOKEN_ID = 2**32 - 1
"""Upper bound of a token id in a token-array input (vocabularies are far smaller)."""

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
Count = Annotated[int, Field(ge=1, le=INT64_MAX)]
Metadata = Annotated[
    dict[Annotated[str, StringConstraints(max_length=METADATA_KEY_LENGTH)],
         Annotated[str, StringConstraints(max_length=METADATA_VALUE_LENGTH)]],
    Field(max_length=METADATA_PAIRS),
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Closed(_Wire):
    """An object whose unknown fields the routes refuse by name."""

    model_config = ConfigDict(json_schema_extra={"additionalProperties": False})


class _Open(_Wire):
    """A request body whose unknown top-level fields are kept, under names of bounded length."""

    model_config = ConfigDict(json_schema_extra={
        "additionalProperties": True, "propertyNames": {"minLength": 1, "maxLength": EXTRA_KEY_LENGTH}})


class TextPartIn(_Closed):
    type: Literal["text"]
    text: str


class ImageURLIn(_Closed):
    url: str = Field(min_length=1)
    detail: Literal["auto", "low", "high"] | None = None


class ImagePartIn(_Closed):
    type: Literal["image_url"]
    image_url: ImageURLIn


class RefusalPartIn(_Closed):
    type: Literal["refusal"]
    refusal: str


class OtherPartIn(_Wire):
    """A content part type the gateway does not translate (audio, file, ...)."""

    type: str


def _part_kind(value: Any) -> Any:
    return value.get("type") if isinstance(value, dict) else getattr(value, "type", None)


def _tagger(*kinds: str) -> Callable[[Any], str]:
    """The discriminator of a part union taking ``kinds``: any other type is the catch-all."""

    def tag(value: Any) -> str:
        kind = _part_kind(value)
        return kind if kind in kinds else "other"

    return tag


_Other = Annotated[SkipJsonSchema[OtherPartIn], Tag("other")]
ContentPartIn = Annotated[
    Annotated[TextPartIn, Tag("text")]
    | Annotated[ImagePartIn, Tag("image_url")]
    | Annotated[RefusalPartIn, Tag("refusal")]
    | _Other,
    Discriminator(_tagger("text", "image_url", "refusal")),
]
"""Any content part; the schema of each role's ``content`` names only the types that role accepts."""
TextOnlyPartIn = Annotated[Annotated[TextPartIn, Tag("text")] | _Other, Discriminator(_tagger("text"))]
UserPartIn = Annotated[Annotated[TextPartIn, Tag("text")] | Annotated[ImagePartIn, Tag("image_url")] | _Other,
                       Discriminator(_tagger("text", "image_url"))]
AssistantPartIn = Annotated[Annotated[TextPartIn, Tag("text")] | Annotated[RefusalPartIn, Tag("refusal")] | _Other,
                            Discriminator(_tagger("text", "refusal"))]


class SystemMessageIn(_Closed):
    role: Literal["system"]
    content: str | list[TextOnlyPartIn]
    name: str | None = None


class DeveloperMessageIn(_Closed):
    role: Literal["developer"]
    content: str | list[TextOnlyPartIn]
    name: str | None = None


class UserMessageIn(_Closed):
    role: Literal["user"]
    content: str | Annotated[list[UserPartIn], Field(min_length=1)]
    name: str | None = None


class FunctionCallIn(_Closed):
    name: str
    arguments: str


class ToolCallIn(_Closed):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallIn


class AssistantMessageIn(_Closed):
    role: Literal["assistant"]
    content: str | list[AssistantPartIn] | None = None
    tool_calls: list[ToolCallIn] | None = None
    refusal: str | None = None
    name: str | None = None


class ToolMessageIn(_Closed):
    """``name`` is not in OpenAI's schema, yet OpenAI accepts it and SDK code sends it (instructor's
    re-ask, the cookbook's function-calling example): accepted and not sent on, since
    ``tool_call_id`` already names the call."""

    role: Literal["tool"]
    content: str | list[TextOnlyPartIn]
    tool_call_id: str
    name: str | None = None


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
    | Annotated[SkipJsonSchema[OtherMessageIn], Tag("other")],
    Discriminator(_role_tag),
]


class FunctionDefinitionIn(_Closed):
    name: str = Field(pattern=r"^[a-zA-Z0-9_.\-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolIn(_Closed):
    type: Literal["function"]
    function: FunctionDefinitionIn


class NamedFunctionIn(_Closed):
    name: str


class NamedToolChoiceIn(_Closed):
    type: Literal["function"]
    function: NamedFunctionIn


class JSONSchemaIn(_Closed):
    name: str = Field(pattern=r"^[a-zA-Z0-9_\-]{1,64}$")
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormatIn(_Closed):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaIn | None = None


class StreamOptionsIn(_Closed):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class ChatCompletionRequest(_Open):
    model: str = Field(min_length=1)
    messages: list[MessageIn] = Field(min_length=1)
    stream: bool | None = None
    stream_options: StreamOptionsIn | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: Count | None = None
    max_tokens: Count | None = None
    max_completion_tokens: Count | None = None
    n: int | None = Field(default=None, ge=1, le=128)
    stop: str | list[str] | None = None
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    seed: Int64 | None = None
    tools: list[ToolIn] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoiceIn | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormatIn | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    service_tier: str | None = None
    user: str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    logit_bias: dict[str, Annotated[int, Field(ge=-100, le=100)]] | None = None
    metadata: Metadata | None = None
    store: bool | None = None


TokenArray = Annotated[list[Annotated[int, Field(ge=0, le=MAX_TOKEN_ID)]], Field(min_length=1)]
"""One input as token ids."""
TokenArrays = Annotated[list[TokenArray], Field(min_length=1, max_length=MAX_EMBEDDING_INPUTS)]
Texts = Annotated[list[str], Field(min_length=1, max_length=MAX_EMBEDDING_INPUTS)]
EmbeddingInput = str | Texts | TokenArray | TokenArrays
"""Text, texts, token ids or arrays of token ids; only OpenAI-format upstreams take token ids."""


class EmbeddingRequest(_Closed):
    model: str = Field(min_length=1)
    input: EmbeddingInput
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1, le=MAX_DIMENSIONS)
    user: str | None = None
    input_type: str | None = Field(default=None, description="Extension: query or document (search providers)")


class CompletionRequest(_Open):
    """A legacy ``POST /v1/completions`` body (OpenAI's ``CreateCompletionRequest``)."""

    model: str = Field(min_length=1)
    prompt: str | Texts | TokenArray | TokenArrays
    suffix: str | None = None
    max_tokens: Count | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(default=None, ge=1, le=128)
    stream: bool | None = None
    stream_options: StreamOptionsIn | None = None
    logprobs: int | None = Field(default=None, ge=0, le=5)
    echo: bool | None = None
    stop: str | list[str] | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    best_of: int | None = Field(default=None, ge=0, le=20)
    logit_bias: dict[str, Annotated[int, Field(ge=-100, le=100)]] | None = None
    seed: Int64 | None = None
    user: str | None = None


class RerankDocumentIn(_Wire):
    """A document object: its ``text`` is ranked; every field comes back with ``return_documents``."""

    text: str


class RerankRequest(_Closed):
    model: str = Field(min_length=1)
    query: str = Field(min_length=1)
    documents: list[str | RerankDocumentIn] = Field(min_length=1)
    top_n: Count | None = None
    return_documents: bool = False


CredentialKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
CredentialValue = Annotated[str, StringConstraints(max_length=65536)]


class VerifyCredentialRequest(_Wire):
    """A provider name and, optionally, a credential to check instead of (or over) the configured
    one; ``gateway.service.credentials`` says how the two combine."""

    provider: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    credential: dict[CredentialKey, CredentialValue] = Field(default_factory=dict, max_length=16)
