"""The ``model.*`` map -> ``generationConfig`` (pure functions).

Reference: Gemini API reference "Generating content" -> ``GenerationConfig`` and
``ThinkingConfig`` (https://ai.google.dev/api/generate-content#generationconfig);
"Gemini thinking" guide (https://ai.google.dev/gemini-api/docs/thinking).

Thinking: ``model.reasoning_effort`` becomes ``thinkingBudget`` with the mapping
Google's OpenAI-compatibility layer documents
(https://ai.google.dev/gemini-api/docs/openai): none -> 0 (thinking off),
low -> 1024, medium -> 8192, high -> 24576; minimal -> 1024 (the smallest of those
budgets). ``model.thinking`` (the seed's ``{"include_thoughts": bool,
"thinking_budget": n}``, also camelCase, ``thinking_level``, or Anthropic's
``{"type": "enabled", "budget_tokens": n}``) sets the fields directly and wins
over the effort. ``thinkingBudget`` and ``thinkingLevel`` together are a 400 (the
API refuses both at once).
"""

from __future__ import annotations

from typing import Any, NoReturn

from gateway.callers.gemini.tools import schema
from gateway.core import params as p
from gateway.core.params import ModelParameters
from gateway.errors import InvalidRequestError

EFFORT_BUDGETS: dict[str, int] = {"none": 0, "minimal": 1024, "low": 1024, "medium": 8192, "high": 24576}

_FLOATS = {p.TEMPERATURE: "temperature", p.TOP_P: "topP", p.PRESENCE_PENALTY: "presencePenalty",
           p.FREQUENCY_PENALTY: "frequencyPenalty"}
_INTS = {p.TOP_K: "topK", p.MAX_COMPLETION_TOKENS: "maxOutputTokens", p.N: "candidateCount", p.SEED: "seed"}
_THINKING_KEYS = {
    "include_thoughts": "includeThoughts", "includeThoughts": "includeThoughts",
    "thinking_budget": "thinkingBudget", "thinkingBudget": "thinkingBudget",
    "thinking_level": "thinkingLevel", "thinkingLevel": "thinkingLevel",
}


def generation_config(mp: ModelParameters) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, name in _FLOATS.items():
        if (fv := mp.get_float(key)) is not None:
            config[name] = fv
    for key, name in _INTS.items():
        if (iv := mp.get_int(key)) is not None:
            config[name] = iv
    if (stop := mp.get_str_list(p.STOP)) is not None:
        config["stopSequences"] = stop
    config.update(response_format(mp))
    if (thinking := thinking_config(mp)) is not None:
        config["thinkingConfig"] = thinking
    return config


def response_format(mp: ModelParameters) -> dict[str, Any]:
    """``responseMimeType`` (+ ``responseSchema``) for OpenAI's ``response_format``."""
    fmt = mp.get_object(p.RESPONSE_FORMAT)
    if fmt is None or fmt.get("type") == "text":
        return {}
    if fmt.get("type") == "json_object":
        return {"responseMimeType": "application/json"}
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        body = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(body, dict):
            raise InvalidRequestError("'response_format.json_schema.schema' must be a JSON Schema object.",
                                      param="response_format.json_schema.schema")
        return {"responseMimeType": "application/json",
                "responseSchema": schema(body, "response_format.json_schema.schema")}
    raise InvalidRequestError("'response_format.type' must be 'text', 'json_object' or 'json_schema'.",
                              param="response_format.type")


def thinking_config(mp: ModelParameters) -> dict[str, Any] | None:
    config: dict[str, Any] = {}
    effort = mp.get_str(p.REASONING_EFFORT)
    if effort is not None:
        budget = EFFORT_BUDGETS.get(effort.strip().lower())
        if budget is None:
            raise InvalidRequestError(
                f"'reasoning_effort' must be one of {', '.join(EFFORT_BUDGETS)} (got {effort!r}).",
                param="reasoning_effort",
            )
        config["thinkingBudget"] = budget
    thinking = mp.get_object(p.THINKING)
    if thinking is not None:
        explicit = _thinking_fields(thinking)
        if "thinkingLevel" in explicit:
            config.pop("thinkingBudget", None)
        config.update(explicit)
    if "thinkingBudget" in config and "thinkingLevel" in config:
        raise InvalidRequestError("'thinking' may set thinking_budget or thinking_level, not both.",
                                  param="thinking")
    return config or None


def _thinking_fields(thinking: dict[str, Any]) -> dict[str, Any]:
    if "type" in thinking:
        return _anthropic_form(thinking)
    out: dict[str, Any] = {}
    for key, value in thinking.items():
        name = _THINKING_KEYS.get(key)
        if name is None:
            raise InvalidRequestError(
                f"Unknown key '{key}' in 'thinking'; use include_thoughts, thinking_budget or thinking_level.",
                param="thinking",
            )
        if name == "includeThoughts":
            out[name] = _bool(value, key)
        elif name == "thinkingBudget":
            out[name] = _int(value, key)
        elif isinstance(value, str):
            out[name] = value.strip().upper()
        else:
            _bad(key, "a string")
    return out


def _anthropic_form(thinking: dict[str, Any]) -> dict[str, Any]:
    kind = thinking.get("type")
    if kind == "disabled":
        return {"thinkingBudget": 0}
    if kind != "enabled":
        raise InvalidRequestError("'thinking.type' must be 'enabled' or 'disabled'.", param="thinking.type")
    out: dict[str, Any] = {"includeThoughts": True}
    if "budget_tokens" in thinking:
        out["thinkingBudget"] = _int(thinking["budget_tokens"], "budget_tokens")
    return out


def _bad(key: str, expected: str) -> NoReturn:
    raise InvalidRequestError(f"'thinking.{key}' must be {expected}.", param=f"thinking.{key}")


def _bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    _bad(key, "a boolean")


def _int(value: Any, key: str) -> int:
    """Integers, integral floats (``1024.0``, as JSON numbers often arrive) and numeric strings."""
    if isinstance(value, bool):
        _bad(key, "an integer")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            _bad(key, "an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    _bad(key, "an integer")
