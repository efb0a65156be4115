"""OpenAI request bodies -> neutral messages, the ``model.*`` map and tool definitions.

Nothing is dropped silently: an unknown field inside a modelled object (a message, a
content part, a tool, ...), a field the gateway cannot honour, or an unsupported content
part is an ``InvalidRequestError`` naming it. Unknown top-level fields are kept, unchanged,
as the call's ``extra``: the service forwards them to OpenAI-format upstreams and refuses
them by name for the rest. Unknown fields inside messages stay refused for every provider:
the gateway rebuilds messages from their neutral form, so it could not forward them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel

from gateway.core import params as p
from gateway.core.messages import (
    AssistantMessage,
    ContentPart,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolDefinition,
    ToolMessage,
    UserMessage,
)
from gateway.core.requests import ChatCall, TextCall
from gateway.errors import GatewayError, InvalidRequestError
from gateway.schemas.openai import (
    EXTRA_KEY_LENGTH,
    AssistantMessageIn,
    ChatCompletionRequest,
    CompletionRequest,
    ContentPartIn,
    DeveloperMessageIn,
    ImagePartIn,
    MessageIn,
    OtherMessageIn,
    OtherPartIn,
    RefusalPartIn,
    SystemMessageIn,
    TextPartIn,
    ToolMessageIn,
    UserMessageIn,
)

_DIRECT_FIELDS: dict[str, str] = {
    "temperature": p.TEMPERATURE,
    "top_p": p.TOP_P,
    "top_k": p.TOP_K,
    "frequency_penalty": p.FREQUENCY_PENALTY,
    "presence_penalty": p.PRESENCE_PENALTY,
    "seed": p.SEED,
    "reasoning_effort": p.REASONING_EFFORT,
    "service_tier": p.SERVICE_TIER,
    "user": p.USER,
    "n": p.N,
    "logprobs": p.LOGPROBS,
    "top_logprobs": p.TOP_LOGPROBS,
    "parallel_tool_calls": p.PARALLEL_TOOL_CALLS,
    "metadata": p.METADATA,
    "logit_bias": p.LOGIT_BIAS,
    "store": p.STORE,
}


def deferred(translate: Callable[[], ChatCall]) -> tuple[Callable[[], ChatCall], ChatCall | None]:
    """For a front door whose format some deployments relay as sent: run ``translate`` now, and
    give the translation for the deployments that need it with the call (``None`` when the body
    does not translate). A body that does not translate raises its error only when a deployment
    asks for the translation; a relaying deployment never sees it."""
    try:
        call = translate()
    except GatewayError as exc:
        error = exc

        def refuse() -> ChatCall:
            raise error

        return refuse, None
    return lambda: call, call


def _refuse_extras(body: Any, where: str) -> None:
    for name in body.model_extra or {}:
        param = f"{where}.{name}"
        raise InvalidRequestError(f"Unrecognized request argument supplied: {param}", param=param)


def top_level_extras(body: BaseModel) -> dict[str, Any]:
    """The unknown top-level fields of ``body``, unchanged; a name outside 1 to
    ``EXTRA_KEY_LENGTH`` characters is an ``InvalidRequestError``."""
    extra = dict(body.model_extra or {})
    for name in extra:
        if not 0 < len(name) <= EXTRA_KEY_LENGTH:
            raise InvalidRequestError(
                f"Field names must have 1 to {EXTRA_KEY_LENGTH} characters (got {len(name)}).",
                param=name[:EXTRA_KEY_LENGTH])
    return extra


def _refuse_nested_extras(value: Any, where: str) -> None:
    """Refuse the first unknown field of any request object inside ``value`` (models, and lists
    of them, recursively), named by its path under ``where``. The catch-all variants are
    skipped: what they hold is refused by type, with a better message, during translation."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_nested_extras(item, f"{where}[{i}]")
    elif isinstance(value, BaseModel) and not isinstance(value, OtherMessageIn | OtherPartIn):
        _refuse_extras(value, where)
        for name, field in type(value).model_fields.items():
            _refuse_nested_extras(getattr(value, name), f"{where}.{field.alias or name}")


def _text_only(content: str | Sequence[ContentPartIn], where: str) -> str:
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for i, part in enumerate(content):
        if not isinstance(part, TextPartIn):
            raise InvalidRequestError(
                f"'{where}.content[{i}]' of type '{part.type}' is not allowed here; only text parts are.",
                param=f"{where}.content[{i}].type",
            )
        texts.append(part.text)
    return "".join(texts)


def _user_parts(content: str | Sequence[ContentPartIn], where: str) -> tuple[ContentPart, ...]:
    if isinstance(content, str):
        return (TextPart(content),)
    parts: list[ContentPart] = []
    for i, part in enumerate(content):
        if isinstance(part, TextPartIn):
            parts.append(TextPart(part.text))
        elif isinstance(part, ImagePartIn):
            parts.append(ImagePart(part.image_url.url, part.image_url.detail))
        else:
            raise InvalidRequestError(
                f"Content part type '{part.type}' in '{where}.content[{i}]' is not supported; "
                "use 'text' or 'image_url'.",
                param=f"{where}.content[{i}].type",
            )
    if not parts:
        raise InvalidRequestError(f"'{where}.content' must not be empty.", param=f"{where}.content")
    return tuple(parts)


def _assistant(message: AssistantMessageIn, where: str) -> AssistantMessage:
    content: str | None = None
    refusal = message.refusal
    if isinstance(message.content, str):
        content = message.content
    elif message.content is not None:
        texts: list[str] = []
        for i, part in enumerate(message.content):
            if isinstance(part, TextPartIn):
                texts.append(part.text)
            elif isinstance(part, RefusalPartIn):
                refusal = (refusal or "") + part.refusal
            else:
                raise InvalidRequestError(
                    f"Content part type '{part.type}' is not allowed in an assistant message.",
                    param=f"{where}.content[{i}].type",
                )
        content = "".join(texts)
    calls = tuple(
        ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments) for c in message.tool_calls or ()
    )
    if content is None and not calls and refusal is None:
        raise InvalidRequestError(
            f"'{where}' needs 'content' or 'tool_calls'.", param=f"{where}.content"
        )
    return AssistantMessage(content=content, tool_calls=calls, refusal=refusal, name=message.name)


def to_message(message: MessageIn, where: str) -> Message:
    if isinstance(message, OtherMessageIn):
        raise InvalidRequestError(
            f"'{where}.role' '{message.role}' is not supported; use system, developer, user, assistant or tool.",
            param=f"{where}.role",
        )
    _refuse_extras(message, where)
    if isinstance(message, SystemMessageIn | DeveloperMessageIn):
        return SystemMessage(_text_only(message.content, where), message.role)
    if isinstance(message, UserMessageIn):
        return UserMessage(_user_parts(message.content, where), message.name)
    if isinstance(message, AssistantMessageIn):
        return _assistant(message, where)
    if isinstance(message, ToolMessageIn):
        return ToolMessage(message.tool_call_id, _text_only(message.content, where))
    raise InvalidRequestError(f"'{where}' is not a valid message.", param=where)


_VALID_SCHEMAS: OrderedDict[bytes, None] = OrderedDict()
_VALID_SCHEMAS_MAX = 1024


def check_json_schema(schema: Mapping[str, Any], param: str) -> None:
    """Raise ``InvalidRequestError`` naming ``param`` unless ``schema`` is a valid JSON Schema
    (draft 2020-12). Schemas found valid are remembered by digest (bounded), since clients
    resend the same tools with every request and the check costs about a millisecond."""
    try:
        digest = hashlib.blake2b(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()
    except orjson.JSONEncodeError:
        digest = b""
    if digest and digest in _VALID_SCHEMAS:
        return
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/" + "/".join(str(part) for part in exc.absolute_path)
        raise InvalidRequestError(f"'{param}' is not a valid JSON Schema: {exc.message[:300]} (at '{where}').",
                                  param=param, code="invalid_json_schema") from None
    except RecursionError:
        raise InvalidRequestError(f"'{param}' is nested too deeply to check.", param=param,
                                  code="invalid_json_schema") from None
    if digest:
        _VALID_SCHEMAS[digest] = None
        if len(_VALID_SCHEMAS) > _VALID_SCHEMAS_MAX:
            _VALID_SCHEMAS.popitem(last=False)


def _tools(body: ChatCompletionRequest) -> tuple[ToolDefinition, ...]:
    tools: list[ToolDefinition] = []
    for i, tool in enumerate(body.tools or ()):
        parameters = tool.function.parameters or {}
        check_json_schema(parameters, f"tools[{i}].function.parameters")
        kind = parameters.get("type", "object")
        if kind != "object":
            raise InvalidRequestError(
                f"'tools[{i}].function.parameters' must be a JSON Schema of type 'object' (got {kind!r}).",
                param=f"tools[{i}].function.parameters",
            )
        tools.append(ToolDefinition(tool.function.name, tool.function.description, parameters, tool.function.strict))
    names = [t.name for t in tools]
    if len(set(names)) != len(names):
        raise InvalidRequestError("Tool names must be unique.", param="tools")
    return tuple(tools)


def _parameters(body: ChatCompletionRequest) -> dict[str, Any]:
    out: dict[str, Any] = {p.NAME: body.model}
    for name, key in _DIRECT_FIELDS.items():
        value = getattr(body, name)
        if value is not None:
            out[key] = value
    if body.max_completion_tokens is not None:
        out[p.MAX_COMPLETION_TOKENS] = body.max_completion_tokens
    elif body.max_tokens is not None:
        out[p.MAX_TOKENS] = body.max_tokens
    if body.stop is not None:
        out[p.STOP] = [body.stop] if isinstance(body.stop, str) else list(body.stop)
    if body.tool_choice is not None:
        choice = body.tool_choice
        out[p.TOOL_CHOICE] = choice if isinstance(choice, str) else choice.model_dump(exclude_none=True)
    if body.response_format is not None:
        out[p.RESPONSE_FORMAT] = body.response_format.model_dump(exclude_none=True, by_alias=True)
    return out


def _check_consistency(body: ChatCompletionRequest, tools: Sequence[ToolDefinition]) -> None:
    fmt = body.response_format
    if fmt is not None and fmt.type == "json_schema" and (fmt.json_schema is None or fmt.json_schema.schema_ is None):
        raise InvalidRequestError(
            "'response_format.json_schema.schema' is required when type is 'json_schema'.",
            param="response_format.json_schema",
        )
    if fmt is not None and fmt.json_schema is not None and fmt.json_schema.schema_ is not None:
        check_json_schema(fmt.json_schema.schema_, "response_format.json_schema.schema")
    choice = body.tool_choice
    if choice is not None and not isinstance(choice, str) and choice.function.name not in {t.name for t in tools}:
        raise InvalidRequestError(
            f"'tool_choice' names the function '{choice.function.name}', which is not in 'tools'.",
            param="tool_choice",
        )
    if body.top_logprobs is not None and not body.logprobs:
        raise InvalidRequestError("'top_logprobs' requires 'logprobs' to be true.", param="top_logprobs")


def to_chat_call(body: ChatCompletionRequest) -> ChatCall:
    """Translate a validated request body; raises ``InvalidRequestError`` for what cannot be honoured."""
    extra = top_level_extras(body)
    messages = tuple(to_message(m, f"messages[{i}]") for i, m in enumerate(body.messages))
    for name in type(body).model_fields:
        _refuse_nested_extras(getattr(body, name), name)
    tools = _tools(body)
    _check_consistency(body, tools)
    options = body.stream_options
    if options is not None and not body.stream:
        raise InvalidRequestError("'stream_options' is only allowed when 'stream' is true.", param="stream_options")
    return ChatCall(
        messages=messages,
        parameters=_parameters(body),
        tools=tools,
        stream=bool(body.stream),
        include_usage=bool(options and options.include_usage),
        extra=extra,
    )


_TEXT_FIELDS: dict[str, str] = {
    "max_tokens": p.MAX_TOKENS,
    "temperature": p.TEMPERATURE,
    "top_p": p.TOP_P,
    "n": p.N,
    "presence_penalty": p.PRESENCE_PENALTY,
    "frequency_penalty": p.FREQUENCY_PENALTY,
    "logit_bias": p.LOGIT_BIAS,
    "seed": p.SEED,
    "user": p.USER,
}


def _untranslatable(body: CompletionRequest) -> str | None:
    """The first field of a completions body that a chat translation cannot honour."""
    if body.logprobs is not None:
        return "logprobs"
    if body.echo:
        return "echo"
    if body.suffix is not None:
        return "suffix"
    if body.best_of is not None and body.best_of != 1:
        return "best_of"
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    if any(not isinstance(item, str) for item in prompts):
        return "prompt"
    return None


def _text_parameters(body: CompletionRequest) -> dict[str, Any]:
    out: dict[str, Any] = {p.NAME: body.model}
    for name, key in _TEXT_FIELDS.items():
        value = getattr(body, name)
        if value is not None:
            out[key] = value
    if body.stop is not None:
        out[p.STOP] = [body.stop] if isinstance(body.stop, str) else list(body.stop)
    return out


def to_text_call(body: CompletionRequest) -> TextCall:
    """A validated completions body as a ``TextCall``: the body itself for native upstreams and,
    unless a field cannot be translated, one single-message chat call per prompt string."""
    extra = top_level_extras(body)
    options = body.stream_options
    if options is not None and not body.stream:
        raise InvalidRequestError("'stream_options' is only allowed when 'stream' is true.", param="stream_options")
    _refuse_nested_extras(options, "stream_options")
    refused = _untranslatable(body)
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    include_usage = bool(options and options.include_usage)
    parameters = _text_parameters(body)
    chats = () if refused else tuple(
        ChatCall(messages=(UserMessage((TextPart(str(prompt)),)),), parameters=parameters, tools=(),
                 stream=bool(body.stream), include_usage=include_usage, extra=extra)
        for prompt in prompts)
    native = body.model_dump(exclude_unset=True, by_alias=True, exclude={"model"})
    return TextCall(body=native, chats=chats, refused=refused, stream=bool(body.stream), include_usage=include_usage)
