"""JSON Schema -> the subset a provider accepts (a pure function).

Some providers take only part of JSON Schema for tool parameters and structured
output: an OpenAPI 3.0 style ``Schema`` object with no ``$ref``, no
``additionalProperties``, ``nullable`` instead of ``type: [X, "null"]``, and so
on. A provider describes what it accepts with a ``SchemaProfile`` (data, not
branches) and calls ``sanitize_schema``:

* local ``$ref``s (``#/$defs/X``, ``#/definitions/X``, any ``#/...`` pointer) are
  inlined, sibling keywords of a ``$ref`` overriding the target's; a recursive
  reference cannot be inlined and raises ``InvalidRequestError`` naming where;
* ``allOf`` is merged into its parent when the profile does not keep it, and
  ``oneOf`` becomes ``anyOf`` when only that is kept;
* with ``nullable_keyword``, ``type: [X, "null"]`` and ``anyOf: [X, {"type": "null"}]``
  become ``X`` plus ``nullable: true``, and several non-null types become ``anyOf``;
* ``const`` becomes a one-value ``enum`` when only ``enum`` is kept; with
  ``string_enums`` enum values are sent as strings;
* every keyword the profile does not keep is removed (property *names* are never
  touched, only keywords).

The input is never modified; the result is a new dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from gateway.errors import InvalidRequestError

_DEFINITIONS = ("$defs", "definitions")
_SUBSCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_SUBSCHEMA_LISTS = frozenset({"allOf", "prefixItems"})
_SUBSCHEMAS = frozenset({"items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
                         "unevaluatedProperties", "unevaluatedItems", "additionalItems"})


@dataclass(frozen=True, slots=True)
class SchemaProfile:
    """What a provider's schema dialect accepts.

    ``keep``: the keywords kept (``None`` keeps every keyword not in ``drop``).
    ``drop``: keywords always removed.
    ``inline_refs``: inline local ``$ref``s and remove ``$defs``/``definitions``.
    ``nullable_keyword``: express null-ability with OpenAPI's ``nullable: true``.
    ``string_enums``: send ``enum`` values as strings (numbers get ``format: enum``).
    ``formats``: the ``format`` values kept (``None`` keeps any).
    """

    keep: frozenset[str] | None = None
    drop: frozenset[str] = frozenset()
    inline_refs: bool = True
    nullable_keyword: bool = False
    string_enums: bool = False
    formats: frozenset[str] | None = None

    def allows(self, keyword: str) -> bool:
        return (self.keep is None or keyword in self.keep) and keyword not in self.drop


def sanitize_schema(schema: Mapping[str, Any], profile: SchemaProfile, *, param: str = "schema") -> dict[str, Any]:
    """``schema`` rewritten for ``profile``; ``param`` names the request field in errors."""
    return _Sanitizer(schema, profile, param).node(schema, "#", ("#",))


class _Sanitizer:
    def __init__(self, root: Mapping[str, Any], profile: SchemaProfile, param: str) -> None:
        self._root = root
        self._profile = profile
        self._param = param

    def _error(self, problem: str, path: str) -> InvalidRequestError:
        return InvalidRequestError(f"'{self._param}' {problem} at {path}.", param=self._param)

    def node(self, raw: Any, path: str, refs: tuple[str, ...]) -> dict[str, Any]:
        if raw is True:
            return {}
        if not isinstance(raw, Mapping):
            raise self._error("holds something that is not a schema", path)
        schema = dict(raw)
        ref = schema.get("$ref")
        if isinstance(ref, str) and self._profile.inline_refs:
            if ref in refs:
                raise self._error(f"has a recursive $ref '{ref}', which this provider cannot express", path)
            target = self._resolve(ref, path)
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return self.node(merged, path, (*refs, ref))
        out: dict[str, Any] = {}
        for key, value in schema.items():
            self._keyword(out, key, value, path, refs)
        if "allOf" in schema and not self._profile.allows("allOf"):
            self._merge_all_of(out, schema["allOf"], path, refs)
        return self._finish(out)

    def _keyword(self, out: dict[str, Any], key: str, value: Any, path: str, refs: tuple[str, ...]) -> None:
        profile = self._profile
        if key in ("anyOf", "oneOf"):
            self._alternatives(out, key, value, path, refs)
        elif key == "type":
            self._type(out, value)
        elif key == "const":
            self._const(out, value)
        elif (key in _DEFINITIONS and profile.inline_refs) or not profile.allows(key):
            return
        elif key in _SUBSCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: self.node(sub, f"{path}/{key}/{name}", refs) for name, sub in value.items()}
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [self.node(sub, f"{path}/{key}/{i}", refs) for i, sub in enumerate(value)]
        elif key in _SUBSCHEMAS and isinstance(value, Mapping | bool):
            out[key] = value if isinstance(value, bool) else self.node(value, f"{path}/{key}", refs)
        elif key == "items" and isinstance(value, list):
            raise self._error("uses tuple-form 'items', which this provider cannot express", path)
        else:
            out[key] = value

    def _const(self, out: dict[str, Any], value: Any) -> None:
        if self._profile.allows("const"):
            out["const"] = value
        elif self._profile.allows("enum"):
            out.setdefault("enum", [value])

    def _resolve(self, ref: str, path: str) -> Mapping[str, Any]:
        if not ref.startswith("#"):
            raise self._error(f"has a non-local $ref '{ref}', which cannot be resolved", path)
        target: Any = self._root
        for token in (t for t in ref[1:].split("/") if t):
            name = unquote(token).replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and name in target:
                target = target[name]
            elif isinstance(target, list) and name.isdigit() and int(name) < len(target):
                target = target[int(name)]
            else:
                raise self._error(f"has a $ref '{ref}' that points nowhere", path)
        if target is True:
            return {}
        if not isinstance(target, Mapping):
            raise self._error(f"has a $ref '{ref}' that is not a schema", path)
        return target

    def _type(self, out: dict[str, Any], value: Any) -> None:
        if not self._profile.nullable_keyword:
            if self._profile.allows("type"):
                out["type"] = value
            return
        types = value if isinstance(value, list) else [value]
        concrete = [t for t in types if t != "null"]
        if len(concrete) < len(types):
            out["nullable"] = True
        if len(concrete) == 1:
            out["type"] = concrete[0]
        elif len(concrete) > 1:
            out["_types"] = concrete

    def _alternatives(self, out: dict[str, Any], key: str, value: Any, path: str, refs: tuple[str, ...]) -> None:
        profile = self._profile
        target = key if profile.allows(key) else "anyOf" if profile.allows("anyOf") else None
        if target is None or not isinstance(value, list):
            return
        members = [self.node(sub, f"{path}/{key}/{i}", refs) for i, sub in enumerate(value)]
        if profile.nullable_keyword:
            concrete = [m for m in members if m != {"nullable": True}]
            if len(concrete) < len(members):
                out["nullable"] = True
            members = concrete
            if len(members) == 1:
                for name, sub in members[0].items():
                    out.setdefault(name, sub)
                return
        if members:
            out[target] = out.get(target, []) + members

    def _merge_all_of(self, out: dict[str, Any], value: Any, path: str, refs: tuple[str, ...]) -> None:
        for i, sub in enumerate(value if isinstance(value, list) else ()):
            member = self.node(sub, f"{path}/allOf/{i}", refs)
            for name, item in member.items():
                if name == "properties" and isinstance(out.get(name), dict):
                    out[name] = {**item, **out[name]}
                elif name == "required" and isinstance(out.get(name), list):
                    out[name] = out[name] + [r for r in item if r not in out[name]]
                else:
                    out.setdefault(name, item)

    def _finish(self, out: dict[str, Any]) -> dict[str, Any]:
        profile = self._profile
        types = out.pop("_types", None)
        if types is not None:
            if profile.allows("anyOf") and "anyOf" not in out:
                out["anyOf"] = [{"type": t} for t in types]
            elif profile.allows("type"):
                out["type"] = types[0]
        if "format" in out and profile.formats is not None and out["format"] not in profile.formats:
            del out["format"]
        if profile.string_enums and isinstance(out.get("enum"), list):
            self._string_enum(out)
        return {k: v for k, v in out.items() if profile.allows(k)}

    def _string_enum(self, out: dict[str, Any]) -> None:
        values = out["enum"]
        if None in values and self._profile.nullable_keyword:
            out["nullable"] = True
        out["enum"] = [_enum_text(v) for v in values if v is not None]
        if out.get("type") in ("integer", "number") and self._profile.allows("format"):
            out["format"] = "enum"


def _enum_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)
