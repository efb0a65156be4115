"""Neutral request -> Anthropic Messages body (pure functions).

Reference: Anthropic API docs, "Messages" (POST /v1/messages), "Tool use",
"Extended thinking" and "Structured outputs". Choices made here:

* ``max_tokens`` is required by Anthropic: without ``model.max_completion_tokens`` it
  is ``DEFAULT_MAX_TOKENS`` (plus the thinking budget when thinking is on, since the
  budget counts against ``max_tokens`` and must stay below it);
* ``model.reasoning_effort`` becomes ``thinking`` with the budget in
  ``EFFORT_BUDGETS`` (``none`` turns it off); an explicit ``model.thinking`` wins;
* ``response_format`` ``json_schema`` uses Anthropic's native structured outputs
  (``output_config.format``); ``json_object`` has no Anthropic equivalent and is a 400;
* ``model.user`` becomes ``metadata.user_id``; ``model.metadata`` is accepted only
  when it carries nothing but ``user_id`` (the only metadata Anthropic takes);
* ``model.n`` is accepted only as 1 (Anthropic returns one choice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.anthropic.messages import to_anthropic_messages
from gateway.callers.base import ChatCompletionOptions
from gateway.core import params as p
from gateway.core.messages import Message, ToolDefinition
from gateway.core.params import ModelParameters
from gateway.errors import InvalidRequestError, UnsupportedParameterError

DEFAULT_MAX_TOKENS = 4096
"""``max_tokens`` sent when the client gives no limit (Anthropic requires one)."""

MIN_THINKING_BUDGET = 1024
"""Anthropic's smallest ``thinking.budget_tokens`` ("Extended thinking")."""

EFFORT_BUDGETS: dict[str, int | None] = {
    "none": None,
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 32768,
}
"""``model.reasoning_effort`` -> ``thinking.budget_tokens`` (``None``: no thinking)."""

CHAT_PARAMETERS = frozenset(
    {
        p.NAME, p.TEMPERATURE, p.TOP_P, p.TOP_K, p.MAX_COMPLETION_TOKENS, p.STOP, p.TOOL_CHOICE,
        p.PARALLEL_TOOL_CALLS, p.RESPONSE_FORMAT, p.REASONING_EFFORT, p.THINKING, p.USER, p.METADATA, p.N,
    }
)


def tool_to_anthropic(tool: ToolDefinition) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool.name, "input_schema": tool.parameters or {"type": "object", "properties": {}}}
    if tool.description:
        out["description"] = tool.description
    if tool.strict is not None:
        out["strict"] = tool.strict
    return out


def tool_choice_to_anthropic(mp: ModelParameters, has_tools: bool) -> dict[str, Any] | None:
    """``tool_choice`` + ``parallel_tool_calls`` -> Anthropic's ``tool_choice`` object."""
    raw = mp.get_json(p.TOOL_CHOICE)
    parallel = mp.get_bool(p.PARALLEL_TOOL_CALLS)
    if raw is None or raw == "auto":
        choice: dict[str, Any] = {"type": "auto"}
    elif raw == "none":
        return {"type": "none"} if has_tools else None
    elif raw == "required":
        choice = {"type": "any"}
    elif isinstance(raw, dict) and isinstance((raw.get("function") or {}).get("name"), str):
        choice = {"type": "tool", "name": raw["function"]["name"]}
    else:
        raise InvalidRequestError(f"Invalid value for 'tool_choice': {raw!r}.", param="tool_choice")
    if not has_tools:
        if choice["type"] != "auto":
            raise InvalidRequestError("'tool_choice' requires 'tools'.", param="tool_choice")
        return None
    if parallel is False:
        choice["disable_parallel_tool_use"] = True
    elif raw is None:
        return None
    return choice


def thinking_to_anthropic(mp: ModelParameters) -> dict[str, Any] | None:
    """``model.thinking`` (``{"type": "enabled", "budget_tokens": N}``, the seed's
    ``{"enabled": true, "budget_tokens": N}``, ``{"type": "disabled"}``,
    ``{"type": "adaptive"}``) or else ``model.reasoning_effort`` -> Anthropic's
    ``thinking`` object."""
    raw = mp.get_object(p.THINKING)
    if raw is not None:
        kind = raw.get("type") or ("enabled" if raw.get("enabled") is True else "disabled")
        if kind in ("disabled", "adaptive"):
            return {"type": kind}
        budget = raw.get("budget_tokens")
        if kind != "enabled" or not isinstance(budget, int) or isinstance(budget, bool):
            raise InvalidRequestError(
                "Invalid value for 'thinking': expected {\"type\": \"enabled\", \"budget_tokens\": <int>}, "
                "{\"type\": \"adaptive\"} or {\"type\": \"disabled\"}.",
                param="thinking",
            )
        return {"type": "enabled", "budget_tokens": budget}
    effort = mp.get_str(p.REASONING_EFFORT)
    if effort is None:
        return None
    if effort not in EFFORT_BUDGETS:
        raise InvalidRequestError(
            f"Invalid value for 'reasoning_effort': {effort!r}; use one of {', '.join(EFFORT_BUDGETS)}.",
            param="reasoning_effort",
        )
    budget_for_effort = EFFORT_BUDGETS[effort]
    return None if budget_for_effort is None else {"type": "enabled", "budget_tokens": budget_for_effort}


def _limits(mp: ModelParameters, thinking: dict[str, Any] | None) -> int:
    """``max_tokens``. A budget from ``reasoning_effort`` is lowered to fit an explicit
    limit; a budget that still does not fit (or an explicit one) is a 400."""
    limit = mp.get_int(p.MAX_COMPLETION_TOKENS)
    budget = thinking.get("budget_tokens") if thinking else None
    if thinking is None or not isinstance(budget, int):
        return limit if limit is not None else DEFAULT_MAX_TOKENS
    if limit is None:
        limit = budget + DEFAULT_MAX_TOKENS
    elif budget >= limit and p.THINKING not in mp:
        budget = thinking["budget_tokens"] = limit - 1
    if budget < MIN_THINKING_BUDGET or budget >= limit:
        raise InvalidRequestError(
            f"The thinking budget ({budget}) must be at least {MIN_THINKING_BUDGET} and below "
            f"'max_completion_tokens' ({limit}).",
            param="max_completion_tokens" if p.THINKING not in mp else "thinking",
        )
    return limit


def _response_format(mp: ModelParameters, provider: str) -> dict[str, Any] | None:
    fmt = mp.get_object(p.RESPONSE_FORMAT)
    if fmt is None or fmt.get("type") == "text":
        return None
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise InvalidRequestError("'response_format.json_schema.schema' must be an object.",
                                      param="response_format.json_schema.schema")
        return {"format": {"type": "json_schema", "schema": schema}}
    raise UnsupportedParameterError(
        "response_format", provider,
        f"type {fmt.get('type')!r} has no Anthropic equivalent; use 'json_schema' with a schema",
    )


def _metadata(mp: ModelParameters, provider: str) -> dict[str, Any] | None:
    metadata = mp.get_object(p.METADATA) or {}
    if set(metadata) - {"user_id"}:
        raise UnsupportedParameterError("metadata", provider, "Anthropic metadata only carries 'user_id'")
    user = mp.get_str(p.USER)
    if user is not None:
        metadata = {"user_id": user}
    return metadata or None


def parameters_to_anthropic(mp: ModelParameters, provider: str, has_tools: bool) -> dict[str, Any]:
    """The body fields the ``model.*`` map asks for (everything but messages and tools)."""
    if (n := mp.get_int(p.N)) is not None and n != 1:
        raise UnsupportedParameterError("n", provider, "Anthropic returns exactly one choice")
    thinking = thinking_to_anthropic(mp)
    body: dict[str, Any] = {"max_tokens": _limits(mp, thinking)}
    if thinking is not None:
        body["thinking"] = thinking
    for key in (p.TEMPERATURE, p.TOP_P):
        if (value := mp.get_float(key)) is not None:
            body[p.field_name(key)] = value
    if (top_k := mp.get_int(p.TOP_K)) is not None:
        body["top_k"] = top_k
    if (stop := mp.get_str_list(p.STOP)) is not None:
        body["stop_sequences"] = stop
    if (choice := tool_choice_to_anthropic(mp, has_tools)) is not None:
        body["tool_choice"] = choice
    if (output := _response_format(mp, provider)) is not None:
        body["output_config"] = output
    if (metadata := _metadata(mp, provider)) is not None:
        body["metadata"] = metadata
    return body


def to_anthropic_chat(
    messages: Sequence[Message], options: ChatCompletionOptions, provider: str, *, stream: bool
) -> dict[str, Any]:
    """The whole ``POST /v1/messages`` body; raises ``InvalidRequestError`` for what cannot be sent."""
    system, turns = to_anthropic_messages(messages)
    if not turns:
        raise InvalidRequestError("Anthropic needs at least one user or assistant message besides system messages.",
                                  param="messages")
    body: dict[str, Any] = {"model": options.model, "messages": turns}
    if system:
        body["system"] = system
    tools = options.tool_definitions
    body.update(parameters_to_anthropic(options.model_parameter, provider, bool(tools)))
    if tools:
        body["tools"] = [tool_to_anthropic(t) for t in tools]
    if stream:
        body["stream"] = True
    return body
