"""Validate bodies against OpenAI's own OpenAPI document, kept in ``tests/data/openai-openapi/`` (see its SOURCE)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parent / "data" / "openai-openapi" / "openapi.yaml"
_URI = "urn:openai-openapi"


def _fix_nullable(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` survives in places; express it in JSON Schema terms."""
    if isinstance(node, dict):
        fixed = {k: _fix_nullable(v) for k, v in node.items()}
        if fixed.pop("nullable", False) is True and isinstance(fixed.get("type"), str):
            fixed["type"] = [fixed["type"], "null"]
            if isinstance(fixed.get("enum"), list):
                fixed["enum"] = [*fixed["enum"], None]
        return fixed
    if isinstance(node, list):
        return [_fix_nullable(v) for v in node]
    return node


@functools.cache
def _registry() -> Registry:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = _fix_nullable(yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=loader))
    # referencing leaves with_resource's return type unannotated
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(_URI, resource)
    return registry


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{_URI}#/components/schemas/{name}"}, registry=_registry())


def assert_valid(name: str, instance: Any) -> None:
    """Raise ``AssertionError`` listing every schema violation of ``instance``."""
    errors = sorted(_validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{list(e.absolute_path)}: {e.message}" for e in errors[:10]]
        raise AssertionError(f"{name} violations:\n" + "\n".join(lines))
