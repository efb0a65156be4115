"""Neutral request -> Mistral chat completions body (pure functions).

Reference: Mistral API, "Chat Completion" (``POST /v1/chat/completions``), as
described by Mistral's OpenAPI document (the ``mistralai`` SDK's
``ChatCompletionRequest``). Differences from OpenAI handled here:

* ``random_seed`` instead of ``seed``; ``max_tokens`` (``max_completion_tokens``
  and ``stream_options`` are rejected as extra inputs); ``safe_prompt`` and
  ``prompt_mode`` are Mistral-only;
* ``tool_choice`` ``required`` is spelled ``any``;
* ``developer`` messages are ``system`` messages; messages carry no ``name``
  except tool results; ``function.parameters`` is required;
* tool call ids must match ``[A-Za-z0-9]{9}`` (Mistral answers 400 "Tool call id
  was ... but must be a-z, A-Z, 0-9, with a length of 9"): foreign ids are
  mapped to such an id deterministically, so a call and its result still match.
  Ids Mistral produced pass through unchanged, so nothing needs mapping back.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.callers.base import ChatCompletionOptions
from gateway.callers.mistral.wire import NAME
from gateway.core import params as p
from gateway.core.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolDefinition,
    UserMessage,
)
from gateway.core.params import FieldTable, ModelParameters
from gateway.errors import InvalidRequestError, UnsupportedParameterError

SAFE_PROMPT = "model.safe_prompt"
"""Mistral-only: inject Mistral's safety prompt (``safe_prompt``)."""
PROMPT_MODE = "model.prompt_mode"
"""Mistral-only: ``reasoning`` selects the reasoning system prompt (``prompt_mode``)."""

CHAT_PARAMETERS = frozenset(
    {
        p.NAME, p.TEMPERATURE, p.TOP_P, p.MAX_COMPLETION_TOKENS, p.STOP, p.SEED, p.PRESENCE_PENALTY,
        p.FREQUENCY_PENALTY, p.N, p.PARALLEL_TOOL_CALLS, p.TOOL_CHOICE, p.RESPONSE_FORMAT, p.REASONING_EFFORT,
        SAFE_PROMPT, PROMPT_MODE,
    }
)

_FIELDS: FieldTable = {
    p.TEMPERATURE: ("temperature", "float"),
    p.TOP_P: ("top_p", "float"),
    p.PRESENCE_PENALTY: ("presence_penalty", "float"),
    p.FREQUENCY_PENALTY: ("frequency_penalty", "float"),
    p.N: ("n", "int"),
    p.SEED: ("random_seed", "int"),
    p.MAX_COMPLETION_TOKENS: ("max_tokens", "int"),
    p.PARALLEL_TOOL_CALLS: ("parallel_tool_calls", "bool"),
    SAFE_PROMPT: ("safe_prompt", "bool"),
    p.REASONING_EFFORT: ("reasoning_effort", "str"),
    PROMPT_MODE: ("prompt_mode", "str"),
    p.STOP: ("stop", "str_list"),
}
_TOOL_CHOICES = {"auto": "auto", "none": "none", "required": "any", "any": "any"}
_FORMATS = ("text", "json_object", "json_schema")

_VALID_ID = re.compile(r"[A-Za-z0-9]{9}")
_ALPHABET = string.ascii_letters + string.digits
_EMPTY_SCHEMA: dict[str, object] = {"type": "object", "properties": {}}


def mistral_tool_call_id(call_id: str) -> str:
    """``call_id`` if Mistral accepts it, else a stable 9-character id derived from it."""
    if _VALID_ID.fullmatch(call_id):
        return call_id
    number = int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:8], "big")
    chars: list[str] = []
    for _ in range(9):
        number, digit = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def _user_content(message: UserMessage) -> str | list[dict[str, Any]]:
    if len(message.parts) == 1 and isinstance(message.parts[0], TextPart):
        return message.parts[0].text
    chunks: list[dict[str, Any]] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            chunks.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            image: str | dict[str, str] = {"url": part.url, "detail": part.detail} if part.detail else part.url
            chunks.append({"type": "image_url", "image_url": image})
    return chunks


def _assistant(message: AssistantMessage) -> dict[str, Any]:
    content = message.content
    if not content and message.refusal:
        content = message.refusal
    out: dict[str, Any] = {"role": "assistant", "content": content}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": mistral_tool_call_id(c.id), "type": "function",
             "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    return out


def message_to_mistral(message: Message, tool_names: Mapping[str, str]) -> dict[str, Any]:
    """One neutral message; ``tool_names`` maps tool call ids to function names."""
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": message.content}
    if isinstance(message, UserMessage):
        return {"role": "user", "content": _user_content(message)}
    if isinstance(message, AssistantMessage):
        return _assistant(message)
    out: dict[str, Any] = {"role": "tool", "tool_call_id": mistral_tool_call_id(message.tool_call_id),
                           "content": message.content}
    name = message.name or tool_names.get(message.tool_call_id)
    if name:
        out["name"] = name
    return out


def messages_to_mistral(messages: Sequence[Message]) -> list[dict[str, Any]]:
    names = {c.id: c.name for m in messages if isinstance(m, AssistantMessage) for c in m.tool_calls}
    return [message_to_mistral(m, names) for m in messages]


def tool_to_mistral(tool: ToolDefinition) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters or dict(_EMPTY_SCHEMA)}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def tool_choice_to_mistral(choice: Any) -> str | dict[str, Any]:
    """``auto``/``none``/``required`` (-> ``any``) or a named function."""
    if isinstance(choice, str) and choice in _TOOL_CHOICES:
        return _TOOL_CHOICES[choice]
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str) and name:
            return {"type": "function", "function": {"name": name}}
    raise InvalidRequestError(f"Invalid value for 'tool_choice': {choice!r}.", param="tool_choice")


def response_format_to_mistral(fmt: dict[str, Any]) -> dict[str, Any]:
    """``text``, ``json_object`` and ``json_schema`` (same shape as OpenAI's)."""
    kind = fmt.get("type")
    if kind not in _FORMATS:
        raise UnsupportedParameterError("response_format", NAME, f"type {kind!r} is not one of {', '.join(_FORMATS)}")
    if kind != "json_schema":
        return {"type": kind}
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
        raise InvalidRequestError("'response_format.json_schema.schema' is required when type is 'json_schema'.",
                                  param="response_format.json_schema")
    schema: dict[str, Any] = {"name": spec.get("name") or "response", "schema": spec["schema"]}
    for key in ("description", "strict"):
        if spec.get(key) is not None:
            schema[key] = spec[key]
    return {"type": "json_schema", "json_schema": schema}


def parameters_to_mistral(mp: ModelParameters) -> dict[str, Any]:
    """The body fields the ``model.*`` map asks for (everything but messages and tools)."""
    body = mp.project(_FIELDS)
    if (choice := mp.get_json(p.TOOL_CHOICE)) is not None:
        body["tool_choice"] = tool_choice_to_mistral(choice)
    if (fmt := mp.get_object(p.RESPONSE_FORMAT)) is not None:
        body["response_format"] = response_format_to_mistral(fmt)
    return body


def to_mistral_chat(messages: Sequence[Message], options: ChatCompletionOptions, *, stream: bool) -> dict[str, Any]:
    """The whole request body. Streams need no ``stream_options``: Mistral puts
    usage on the last chunk by default."""
    body: dict[str, Any] = {"model": options.model, "messages": messages_to_mistral(messages)}
    body.update(parameters_to_mistral(options.model_parameter))
    if options.tool_definitions:
        body["tools"] = [tool_to_mistral(t) for t in options.tool_definitions]
    if stream:
        body["stream"] = True
    return body
