"""Tool definitions, ``tool_choice`` and JSON schemas in the Gemini format (pure functions).

References: Gemini API reference "Caching" -> ``Tool`` / ``FunctionDeclaration`` /
``Schema`` and ``ToolConfig.functionCallingConfig``
(https://ai.google.dev/api/caching#Schema). ``parameters`` and ``responseSchema``
take the ``Schema`` object - "a select subset of an OpenAPI 3.0 schema object":
type, format, title, description, nullable, enum, items, min/maxItems,
properties, required, min/maxProperties, min/maxLength, pattern, example, anyOf,
propertyOrdering, minimum, maximum (and ``default``, which it ignores; we drop
it). No ``$ref``/``$defs``, ``additionalProperties``, ``$schema``, ``const``,
``oneOf``/``allOf``; ``enum`` values are strings; ``format`` is limited to
float/double/int32/int64/enum/date-time. The newer ``parametersJsonSchema`` and
``responseJsonSchema`` fields take fuller JSON Schema but exist only on some API
versions and models, so the ``Schema`` subset is what we send to both the Gemini
API and Vertex AI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.callers.schema import SchemaProfile, sanitize_schema
from gateway.core import params as p
from gateway.core.messages import ToolDefinition
from gateway.core.params import ModelParameters
from gateway.errors import InvalidRequestError

SCHEMA_PROFILE = SchemaProfile(
    keep=frozenset({
        "type", "format", "title", "description", "nullable", "enum", "items", "minItems", "maxItems",
        "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern",
        "example", "anyOf", "propertyOrdering", "minimum", "maximum",
    }),
    inline_refs=True,
    nullable_keyword=True,
    string_enums=True,
    formats=frozenset({"float", "double", "int32", "int64", "enum", "date-time"}),
)

_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


def schema(value: dict[str, Any], param: str) -> dict[str, Any]:
    """``value`` in the ``Schema`` subset; raises ``InvalidRequestError`` naming ``param``."""
    return sanitize_schema(value, SCHEMA_PROFILE, param=param)


def function_declaration(tool: ToolDefinition, index: int) -> dict[str, Any]:
    """A ``FunctionDeclaration``. An object schema without properties is left out:
    Gemini rejects ``OBJECT`` parameters with empty ``properties``."""
    declaration: dict[str, Any] = {"name": tool.name}
    if tool.description:
        declaration["description"] = tool.description
    if tool.parameters:
        parameters = schema(tool.parameters, f"tools[{index}].function.parameters")
        if parameters.get("properties") or parameters.get("type") not in (None, "object"):
            declaration["parameters"] = parameters
    return declaration


def tools_field(tools: Sequence[ToolDefinition]) -> list[dict[str, Any]]:
    return [{"functionDeclarations": [function_declaration(t, i) for i, t in enumerate(tools)]}]


def tool_config(mp: ModelParameters, tools: Sequence[ToolDefinition]) -> dict[str, Any] | None:
    """``toolConfig.functionCallingConfig`` for ``tool_choice``: auto -> AUTO, none -> NONE,
    required -> ANY, a named function -> ANY restricted by ``allowedFunctionNames``."""
    choice = mp.get_json(p.TOOL_CHOICE)
    if choice is None:
        return None
    config: dict[str, Any]
    if isinstance(choice, str) and choice in _MODES:
        config = {"mode": _MODES[choice]}
    elif isinstance(choice, dict) and isinstance((choice.get("function") or {}).get("name"), str):
        config = {"mode": "ANY", "allowedFunctionNames": [choice["function"]["name"]]}
    else:
        raise InvalidRequestError(
            "'tool_choice' must be 'auto', 'none', 'required' or {\"type\": \"function\", \"function\": {\"name\"}}.",
            param="tool_choice",
        )
    if config["mode"] == "ANY" and not tools:
        raise InvalidRequestError("'tool_choice' requires 'tools'.", param="tool_choice")
    if not tools:
        return None
    return {"functionCallingConfig": config}
