"""``POST /v1/responses`` bodies -> a neutral ``ChatCall``.

``instructions`` becomes the leading system message; the conversation is the stored history
(``previous_response_id``) followed by this request's ``input``. Function tools become
``ToolDefinition``s; built-in tools (web search, file search, ...) and fields the gateway
cannot honour are an ``InvalidRequestError`` naming them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.api.responses_api.items import to_messages
from gateway.api.responses_api.schemas import ResponseCreateRequest, TextFormat
from gateway.api.translate import check_json_schema
from gateway.core import params as p
from gateway.core.messages import Message, SystemMessage, ToolDefinition
from gateway.core.requests import ChatCall
from gateway.errors import InvalidRequestError

_DIRECT_FIELDS: dict[str, str] = {
    "temperature": p.TEMPERATURE,
    "top_p": p.TOP_P,
    "parallel_tool_calls": p.PARALLEL_TOOL_CALLS,
    "metadata": p.METADATA,
    "service_tier": p.SERVICE_TIER,
    "max_output_tokens": p.MAX_COMPLETION_TOKENS,
}
_IGNORED_INCLUDES = frozenset({"reasoning.encrypted_content", "message.output_text.logprobs"})
_BUILT_IN = "built-in tools run only at OpenAI; this gateway translates function tools"


def _refuse_extras(model: Any, where: str) -> None:
    for name in model.model_extra or {}:
        param = f"{where}.{name}" if where else name
        raise InvalidRequestError(f"Unrecognized request argument supplied: {param}", param=param)


def _tool(tool: dict[str, Any], where: str) -> ToolDefinition:
    kind = tool.get("type")
    if kind != "function":
        raise InvalidRequestError(f"Tool type '{kind}' in '{where}' is not supported: {_BUILT_IN}.",
                                  param=f"{where}.type", code="unsupported_tool")
    name, parameters = tool.get("name"), tool.get("parameters") or {}
    if not isinstance(name, str) or not name:
        raise InvalidRequestError(f"'{where}.name' is required.", param=f"{where}.name")
    if not isinstance(parameters, dict) or parameters.get("type", "object") != "object":
        raise InvalidRequestError(f"'{where}.parameters' must be a JSON Schema of type 'object'.",
                                  param=f"{where}.parameters")
    check_json_schema(parameters, f"{where}.parameters")
    description, strict = tool.get("description"), tool.get("strict")
    return ToolDefinition(name, description if isinstance(description, str) else None, parameters,
                          strict if isinstance(strict, bool) else None)


def tools(body: ResponseCreateRequest) -> tuple[ToolDefinition, ...]:
    defined = tuple(_tool(t, f"tools[{i}]") for i, t in enumerate(body.tools or ()))
    names = [t.name for t in defined]
    if len(set(names)) != len(names):
        raise InvalidRequestError("Tool names must be unique.", param="tools")
    return defined


def _tool_choice(choice: str | dict[str, Any], defined: Sequence[ToolDefinition]) -> Any:
    if isinstance(choice, str):
        return choice
    name = choice.get("name")
    if choice.get("type") != "function" or not isinstance(name, str):
        raise InvalidRequestError("'tool_choice' must be none, auto, required or {\"type\": \"function\", "
                                  "\"name\": ...}.", param="tool_choice")
    if name not in {t.name for t in defined}:
        raise InvalidRequestError(f"'tool_choice' names the function '{name}', which is not in 'tools'.",
                                  param="tool_choice")
    return {"type": "function", "function": {"name": name}}


def _response_format(fmt: TextFormat) -> dict[str, Any]:
    if fmt.type != "json_schema":
        return {"type": fmt.type}
    if fmt.schema_ is None or not fmt.name:
        raise InvalidRequestError("'text.format' of type json_schema needs 'name' and 'schema'.",
                                  param="text.format")
    check_json_schema(fmt.schema_, "text.format.schema")
    schema: dict[str, Any] = {"name": fmt.name, "schema": fmt.schema_}
    if fmt.description is not None:
        schema["description"] = fmt.description
    if fmt.strict is not None:
        schema["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": schema}


def _parameters(body: ResponseCreateRequest, defined: Sequence[ToolDefinition]) -> dict[str, Any]:
    out: dict[str, Any] = {p.NAME: body.model}
    for name, key in _DIRECT_FIELDS.items():
        value = getattr(body, name)
        if value is not None:
            out[key] = value
    user = body.user if body.user is not None else body.safety_identifier
    if user is not None:
        out[p.USER] = user
    if body.tool_choice is not None:
        out[p.TOOL_CHOICE] = _tool_choice(body.tool_choice, defined)
    if body.text is not None and body.text.format is not None:
        out[p.RESPONSE_FORMAT] = _response_format(body.text.format)
    if body.reasoning is not None and body.reasoning.effort is not None:
        out[p.REASONING_EFFORT] = body.reasoning.effort
    return out


def _check(body: ResponseCreateRequest) -> None:
    _refuse_extras(body, "")
    for name in ("text", "reasoning", "stream_options"):
        nested = getattr(body, name)
        if nested is not None:
            _refuse_extras(nested, name)
    if body.text is not None and body.text.format is not None:
        _refuse_extras(body.text.format, "text.format")
    if body.background:
        raise InvalidRequestError("'background' responses run only where the provider relays the Responses API.",
                                  param="background")
    if body.truncation == "auto":
        raise InvalidRequestError("'truncation' 'auto' is not supported when translating the Responses API.",
                                  param="truncation")
    if body.text is not None and body.text.verbosity is not None:
        raise InvalidRequestError("'text.verbosity' is not supported by this gateway.", param="text.verbosity")
    for i, name in enumerate(body.include or ()):
        if name not in _IGNORED_INCLUDES:
            raise InvalidRequestError(f"'include[{i}]' value '{name}' is not supported.", param=f"include[{i}]")
    if body.stream_options is not None and not body.stream:
        raise InvalidRequestError("'stream_options' is only allowed when 'stream' is true.", param="stream_options")
    if body.input is None and body.previous_response_id is None:
        raise InvalidRequestError("Missing required parameter: 'input'.", param="input")


def to_chat_call(body: ResponseCreateRequest, history: Sequence[dict[str, Any]],
                 items: Sequence[dict[str, Any]]) -> ChatCall:
    """The neutral call: ``history`` (stored items of the previous responses) then ``items`` (this
    request's input). Raises ``InvalidRequestError`` for what cannot be honoured."""
    _check(body)
    messages: list[Message] = []
    if body.instructions:
        messages.append(SystemMessage(body.instructions))
    messages += to_messages(history, "previous_response_id")
    messages += to_messages(items)
    if not messages:
        raise InvalidRequestError("'input' must not be empty.", param="input")
    defined = tools(body)
    return ChatCall(messages=tuple(messages), parameters=_parameters(body, defined), tools=defined,
                    stream=bool(body.stream), include_usage=True)
