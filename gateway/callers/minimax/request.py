"""Neutral request -> MiniMax chat completions body (pure functions).

Reference: MiniMax docs, "Chat Completions API (OpenAI-compatible)"
(``POST /v1/chat/completions``) and "OpenAI API compatible". Differences from
OpenAI handled here:

* ``temperature`` must be in (0, 1]: values <= 0 are sent as 0.01 (as the seed
  does) and values > 1 as 1.0, rather than failing a request OpenAI would take;
* ``max_completion_tokens`` (``max_tokens`` is deprecated);
* MiniMax documents no ``tool_choice``: ``auto`` is the default and ``none`` is
  honoured by not offering the tools; ``required`` and a named function are
  refused (400). Tool definitions carry no ``strict`` flag;
* ``n``, penalties, ``seed``, ``logprobs``, ``logit_bias``,
  ``parallel_tool_calls`` and ``response_format`` are not documented, so they are
  not in ``CHAT_PARAMETERS`` and the service refuses them with a 400;
* ``thinking`` (``{"type": "adaptive" | "disabled"}``) and ``reasoning_split``
  (reasoning in ``reasoning_details`` instead of inline ``<think>`` tags) are
  MiniMax's own switches;
* ``developer`` messages are sent as ``system``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.base import ChatCompletionOptions
from gateway.callers.minimax.wire import NAME
from gateway.callers.openai.request import message_to_openai
from gateway.callers.openai.wire import Quirks
from gateway.core import params as p
from gateway.core.messages import Message, ToolDefinition
from gateway.core.params import ModelParameters
from gateway.errors import InvalidRequestError, UnsupportedParameterError

REASONING_SPLIT = "model.reasoning_split"
"""MiniMax-only: return reasoning in ``reasoning_details`` (``reasoning_split``)."""

CHAT_PARAMETERS = frozenset(
    {p.NAME, p.TEMPERATURE, p.TOP_P, p.MAX_COMPLETION_TOKENS, p.STOP, p.TOOL_CHOICE, p.THINKING, REASONING_SPLIT}
)

MIN_TEMPERATURE = 0.01
MAX_TEMPERATURE = 1.0
_QUIRKS = Quirks(developer_role=False)
_EMPTY_SCHEMA: dict[str, object] = {"type": "object", "properties": {}}


def clamp_temperature(value: float) -> float:
    """MiniMax accepts (0, 1]."""
    if value <= 0:
        return MIN_TEMPERATURE
    return min(value, MAX_TEMPERATURE)


def message_to_minimax(message: Message) -> dict[str, Any]:
    out = message_to_openai(message, _QUIRKS)
    if out["role"] == "assistant" and out.get("content") is None:
        out["content"] = ""
    return out


def tool_to_minimax(tool: ToolDefinition) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters or dict(_EMPTY_SCHEMA)}
    if tool.description is not None:
        function["description"] = tool.description
    return {"type": "function", "function": function}


def _offer_tools(choice: Any) -> bool:
    """Whether to send the tools, given the client's ``tool_choice``."""
    if choice is None or choice == "auto":
        return True
    if choice == "none":
        return False
    raise UnsupportedParameterError(
        "tool_choice", NAME, "MiniMax documents no tool_choice; only 'auto' and 'none' can be honoured")


def _thinking(value: Any) -> dict[str, Any]:
    if isinstance(value, str) and value:
        return {"type": value}
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return value
    raise InvalidRequestError("Invalid value for 'thinking': expected {\"type\": \"adaptive\" | \"disabled\"}.",
                              param="thinking")


def parameters_to_minimax(mp: ModelParameters) -> dict[str, Any]:
    """The body fields the ``model.*`` map asks for (everything but messages and tools)."""
    body: dict[str, Any] = {}
    if (temperature := mp.get_float(p.TEMPERATURE)) is not None:
        body["temperature"] = clamp_temperature(temperature)
    if (top_p := mp.get_float(p.TOP_P)) is not None:
        body["top_p"] = top_p
    if (limit := mp.get_int(p.MAX_COMPLETION_TOKENS)) is not None:
        body["max_completion_tokens"] = limit
    if (stop := mp.get_str_list(p.STOP)) is not None:
        body["stop"] = stop
    if (thinking := mp.get_json(p.THINKING)) is not None:
        body["thinking"] = _thinking(thinking)
    if (split := mp.get_bool(REASONING_SPLIT)) is not None:
        body["reasoning_split"] = split
    return body


def to_minimax_chat(messages: Sequence[Message], options: ChatCompletionOptions, *, stream: bool) -> dict[str, Any]:
    """The whole request body; usage comes on the stream's last event unasked."""
    body: dict[str, Any] = {"model": options.model, "messages": [message_to_minimax(m) for m in messages]}
    body.update(parameters_to_minimax(options.model_parameter))
    offer_tools = _offer_tools(options.model_parameter.get_json(p.TOOL_CHOICE))
    if options.tool_definitions and offer_tools:
        body["tools"] = [tool_to_minimax(t) for t in options.tool_definitions]
    if stream:
        body["stream"] = True
    return body
