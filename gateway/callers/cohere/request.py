"""Neutral request -> Cohere v2 Chat body (pure functions).

Reference: Cohere API reference, "Chat" (POST /v2/chat), its message types
(system / user / assistant / tool), ``tools``, ``tool_choice``
(``REQUIRED`` | ``NONE``), ``response_format`` and ``thinking``; and the
"Reasoning" guide for ``thinking`` (``{"type": "enabled"|"disabled",
"token_budget": N}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.base import ChatCompletionOptions
from gateway.callers.cohere.wire import NAME
from gateway.callers.openai.request import user_content
from gateway.core import params as p
from gateway.core.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolDefinition,
    ToolMessage,
    UserMessage,
)
from gateway.core.params import FieldTable, ModelParameters
from gateway.errors import InvalidRequestError, UnsupportedParameterError

CHAT_PARAMETERS = frozenset(
    {
        p.NAME, p.TEMPERATURE, p.TOP_P, p.TOP_K, p.MAX_COMPLETION_TOKENS, p.STOP, p.SEED,
        p.FREQUENCY_PENALTY, p.PRESENCE_PENALTY, p.TOOL_CHOICE, p.RESPONSE_FORMAT,
        p.THINKING, p.REASONING_EFFORT,
    }
)

_FIELDS: FieldTable = {
    p.TEMPERATURE: ("temperature", "float"),
    p.TOP_P: ("p", "float"),
    p.FREQUENCY_PENALTY: ("frequency_penalty", "float"),
    p.PRESENCE_PENALTY: ("presence_penalty", "float"),
    p.TOP_K: ("k", "int"),
    p.MAX_COMPLETION_TOKENS: ("max_tokens", "int"),
    p.SEED: ("seed", "int"),
    p.STOP: ("stop_sequences", "str_list"),
}

# OpenAI tool_choice strings -> Cohere's; ``None`` means "send nothing" (Cohere's default is auto).
_TOOL_CHOICE: dict[str, str | None] = {"auto": None, "required": "REQUIRED", "none": "NONE"}

# reasoning_effort -> thinking type. Cohere has no effort levels, only on/off (+ a token budget).
_EFFORT: dict[str, str] = {"none": "disabled", "minimal": "enabled", "low": "enabled", "medium": "enabled",
                           "high": "enabled"}


def message_to_cohere(message: Message) -> dict[str, Any]:
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": message.content}
    if isinstance(message, UserMessage):
        # Cohere v2 user content takes OpenAI's text / image_url blocks ("URL of an image. Can be
        # either a base64 data URI or a web URL.").
        return {"role": "user", "content": user_content(message)}
    if isinstance(message, AssistantMessage):
        return _assistant(message)
    return _tool(message)


def _assistant(message: AssistantMessage) -> dict[str, Any]:
    """Text that accompanies tool calls is Cohere's ``tool_plan``; otherwise it is ``content``."""
    out: dict[str, Any] = {"role": "assistant"}
    text = message.content or message.refusal
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
        if text:
            out["tool_plan"] = text
    elif text is not None:
        out["content"] = text
    return out


def _tool(message: ToolMessage) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}


def tool_to_cohere(tool: ToolDefinition) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name,
                                "parameters": tool.parameters or {"type": "object", "properties": {}}}
    if tool.description is not None:
        function["description"] = tool.description
    return {"type": "function", "function": function}


def tool_choice_to_cohere(value: Any) -> str | None:
    """``None`` (auto) or ``REQUIRED``/``NONE``. Cohere cannot force one named function."""
    if isinstance(value, str) and value in _TOOL_CHOICE:
        return _TOOL_CHOICE[value]
    if isinstance(value, dict) and value.get("type") == "function":
        raise UnsupportedParameterError(
            "tool_choice", NAME, "Cohere accepts only 'auto', 'required' or 'none', not a named function")
    raise InvalidRequestError(f"Invalid value for 'tool_choice': {value!r}.", param="tool_choice")


def response_format_to_cohere(value: dict[str, Any]) -> dict[str, Any] | None:
    """JSON mode and JSON Schema both become ``{"type": "json_object", "json_schema"?}``."""
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise InvalidRequestError("'response_format.json_schema.schema' must be an object.",
                                      param="response_format.json_schema")
        return {"type": "json_object", "json_schema": schema}
    raise UnsupportedParameterError("response_format", NAME, f"type {kind!r} is not supported")


def thinking_to_cohere(mp: ModelParameters) -> dict[str, Any] | None:
    """``model.thinking`` (Cohere's shape, or ``{"enabled", "budget_tokens"}`` as in the seed)
    wins over ``model.reasoning_effort``."""
    thinking = mp.get_object(p.THINKING)
    if thinking is not None:
        return _thinking_object(thinking)
    effort = mp.get_str(p.REASONING_EFFORT)
    if effort is None:
        return None
    if effort not in _EFFORT:
        raise InvalidRequestError(f"Invalid value for 'reasoning_effort': {effort!r}.", param="reasoning_effort")
    return {"type": _EFFORT[effort]}


def _thinking_object(thinking: dict[str, Any]) -> dict[str, Any]:
    kind = thinking.get("type")
    if kind is None and isinstance(thinking.get("enabled"), bool):
        kind = "enabled" if thinking["enabled"] else "disabled"
    if kind not in ("enabled", "disabled"):
        raise InvalidRequestError("'thinking.type' must be 'enabled' or 'disabled'.", param="thinking")
    out: dict[str, Any] = {"type": kind}
    budget = thinking.get("token_budget", thinking.get("budget_tokens"))
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise InvalidRequestError("'thinking.token_budget' must be a positive integer.", param="thinking")
        if kind == "enabled":
            out["token_budget"] = budget
    return out


def parameters_to_cohere(mp: ModelParameters) -> dict[str, Any]:
    """The body fields the ``model.*`` map asks for (everything but messages and tools)."""
    body = mp.project(_FIELDS)
    if (choice := mp.get_json(p.TOOL_CHOICE)) is not None and (mapped := tool_choice_to_cohere(choice)):
        body["tool_choice"] = mapped
    if (fmt := mp.get_object(p.RESPONSE_FORMAT)) is not None and (converted := response_format_to_cohere(fmt)):
        body["response_format"] = converted
    if (thinking := thinking_to_cohere(mp)) is not None:
        body["thinking"] = thinking
    return body


def to_cohere_chat(messages: Sequence[Message], options: ChatCompletionOptions, *, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": options.model,
        "messages": [message_to_cohere(m) for m in messages],
        "stream": stream,
    }
    body.update(parameters_to_cohere(options.model_parameter))
    if options.tool_definitions:
        body["tools"] = [tool_to_cohere(t) for t in options.tool_definitions]
        if any(t.strict for t in options.tool_definitions):
            body["strict_tools"] = True
    return body
