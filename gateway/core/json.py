"""The JSON value type, and the fast encoder used to render responses."""

from __future__ import annotations

from typing import Any, TypeAlias

import orjson

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"


def dumps(value: Any) -> bytes:
    """Serialise to compact UTF-8 JSON bytes."""
    return orjson.dumps(value)
