"""A small typed check of upstream JSON, so only upstream data of the wrong shape becomes a 502.

A parser checks the fields it relies on with these helpers before using them; a failing check
raises ``ShapeError``, which the stream relay (and the callers) answer with "malformed response
from the provider". Code after the check may then trust the shape: an ``AttributeError`` or
``KeyError`` it raises is a bug of ours, and surfaces as one (a 500 with its traceback logged)
instead of being blamed on the provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ShapeError(ValueError):
    """Upstream data failed its typed check: ``where`` is the field's path, ``expected`` its type."""

    def __init__(self, where: str, expected: str, value: Any) -> None:
        super().__init__(f"{where}: expected {expected}, got {type(value).__name__}")
        self.where = where
        self.expected = expected


_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
          bool: "a boolean"}


def _expected(kinds: tuple[type, ...]) -> str:
    return " or ".join(_NAMES.get(kind, kind.__name__) for kind in kinds)


def check(value: Any, kinds: tuple[type, ...], where: str, *, optional: bool = True) -> Any:
    """``value`` if it is one of ``kinds`` (or ``None``, when ``optional``); ``ShapeError`` otherwise.
    A boolean is not an integer here."""
    if value is None and optional:
        return None
    if isinstance(value, bool) and bool not in kinds:
        raise ShapeError(where, _expected(kinds), value)
    if not isinstance(value, kinds):
        raise ShapeError(where, _expected(kinds), value)
    return value


def fields(parent: Mapping[str, Any], where: str, **kinds: tuple[type, ...]) -> None:
    """Check each named field of ``parent`` that is present (and not ``null``) against its kinds."""
    for key, allowed in kinds.items():
        check(parent.get(key), allowed, f"{where}.{key}")


def objects(value: Any, where: str) -> list[dict[str, Any]]:
    """``value`` as a list of objects (``None``: empty); ``ShapeError`` if it is anything else."""
    items: list[dict[str, Any]] | None = check(value, (list,), where)
    if items is None:
        return []
    for position, item in enumerate(items):
        check(item, (dict,), f"{where}[{position}]", optional=False)
    return items
