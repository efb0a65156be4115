"""Golden inputs and outputs for the shared JSON Schema sanitizer."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gateway.callers.schema import SchemaProfile, sanitize_schema
from gateway.errors import InvalidRequestError

OPENAPI_SUBSET = SchemaProfile(
    keep=frozenset({"type", "format", "title", "description", "nullable", "enum", "items", "properties", "required",
                    "anyOf", "minimum", "maximum", "minItems"}),
    inline_refs=True,
    nullable_keyword=True,
    string_enums=True,
    formats=frozenset({"int32", "enum", "date-time"}),
)

GOLDEN: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "refs are inlined, siblings win, definitions and unsupported keywords go",
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "additionalProperties": False,
         "$defs": {"City": {"type": "string", "description": "a city", "default": "Paris", "examples": ["Rome"]}},
         "properties": {"home": {"$ref": "#/$defs/City", "description": "where you live"},
                        "away": {"$ref": "#/$defs/City"}},
         "required": ["home"]},
        {"type": "object", "properties": {"home": {"type": "string", "description": "where you live"},
                                          "away": {"type": "string", "description": "a city"}},
         "required": ["home"]},
    ),
    (
        "draft-7 definitions and escaped JSON pointers",
        {"type": "object", "definitions": {"a/b": {"type": "integer", "minimum": 1}},
         "properties": {"n": {"$ref": "#/definitions/a~1b"}}},
        {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}},
    ),
    (
        "type [X, null] becomes nullable",
        {"type": ["string", "null"], "format": "date-time"},
        {"type": "string", "nullable": True, "format": "date-time"},
    ),
    (
        "anyOf [X, null] collapses into X + nullable",
        {"description": "maybe a count", "anyOf": [{"type": "integer"}, {"type": "null"}]},
        {"description": "maybe a count", "nullable": True, "type": "integer"},
    ),
    (
        "anyOf with several members keeps anyOf, drops the null member",
        {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]},
        {"nullable": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
    ),
    (
        "several types become anyOf",
        {"type": ["integer", "string"]},
        {"anyOf": [{"type": "integer"}, {"type": "string"}]},
    ),
    (
        "oneOf becomes anyOf when only anyOf is kept",
        {"oneOf": [{"type": "integer"}, {"type": "boolean"}]},
        {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
    ),
    (
        "allOf is merged into its parent",
        {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                   {"properties": {"b": {"type": "integer"}}, "required": ["b"]}],
         "description": "both"},
        {"description": "both", "type": "object",
         "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a", "b"]},
    ),
    (
        "const becomes a string enum; numeric enums get format enum",
        {"type": "object", "properties": {"kind": {"const": "circle"},
                                          "size": {"type": "integer", "enum": [1, 2, 3]},
                                          "flag": {"enum": [True, None]}}},
        {"type": "object", "properties": {"kind": {"enum": ["circle"]},
                                          "size": {"type": "integer", "enum": ["1", "2", "3"], "format": "enum"},
                                          "flag": {"enum": ["true"], "nullable": True}}},
    ),
    (
        "formats outside the profile are removed",
        {"type": "string", "format": "uri", "pattern": "^https://"},
        {"type": "string"},
    ),
    (
        "property names that look like keywords are kept",
        {"type": "object", "properties": {"type": {"type": "string"}, "default": {"type": "boolean"},
                                          "$ref": {"type": "number"}}},
        {"type": "object", "properties": {"type": {"type": "string"}, "default": {"type": "boolean"},
                                          "$ref": {"type": "number"}}},
    ),
    (
        "array items are sanitized too",
        {"type": "array", "minItems": 1, "uniqueItems": True,
         "items": {"$ref": "#/$defs/Tag"}, "$defs": {"Tag": {"type": ["string", "null"], "maxLength": 9}}},
        {"type": "array", "minItems": 1, "items": {"type": "string", "nullable": True}},
    ),
]


@pytest.mark.parametrize(("name", "given", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden(name: str, given: dict[str, Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(given)
    assert sanitize_schema(given, OPENAPI_SUBSET) == expected
    assert given == before, "the input must not be modified"


def test_a_recursive_ref_is_refused_naming_the_field_and_the_path() -> None:
    tree = {"type": "object", "$defs": {"Node": {"type": "object", "properties": {
        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}},
        "properties": {"root": {"$ref": "#/$defs/Node"}}}
    with pytest.raises(InvalidRequestError) as caught:
        sanitize_schema(tree, OPENAPI_SUBSET, param="tools[0].function.parameters")
    assert caught.value.param == "tools[0].function.parameters"
    assert "recursive $ref '#/$defs/Node'" in caught.value.message
    assert "#/properties/root/properties/children/items" in caught.value.message


def test_a_self_reference_to_the_root_is_recursive() -> None:
    with pytest.raises(InvalidRequestError, match="recursive"):
        sanitize_schema({"type": "object", "properties": {"next": {"$ref": "#"}}}, OPENAPI_SUBSET)


@pytest.mark.parametrize(("given", "problem"), [
    ({"properties": {"x": {"$ref": "https://example.com/s.json"}}}, "non-local"),
    ({"properties": {"x": {"$ref": "#/$defs/Missing"}}}, "points nowhere"),
    ({"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}, "tuple-form"),
])
def test_unexpressible_schemas_are_a_400(given: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidRequestError, match=problem):
        sanitize_schema(given, OPENAPI_SUBSET)


def test_a_permissive_profile_only_drops_what_it_names() -> None:
    profile = SchemaProfile(drop=frozenset({"$schema"}), inline_refs=False)
    given = {"$schema": "x", "type": ["string", "null"], "$defs": {"A": {"type": "string"}},
             "properties": {"a": {"$ref": "#/$defs/A"}}, "additionalProperties": False}
    assert sanitize_schema(given, profile) == {
        "type": ["string", "null"], "$defs": {"A": {"type": "string"}},
        "properties": {"a": {"$ref": "#/$defs/A"}}, "additionalProperties": False}
