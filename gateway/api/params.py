"""Query and path parameters of the admin routes, bounded by what the database can hold.

A value the database could not take is refused at the edge, never passed on to become a
driver error: a text filter is printable (no C0 control character or DEL; PostgreSQL
refuses NUL in text) and no longer than its column; an integer fits its column (``BIGINT``
ids and cursors); a datetime is ISO 8601 as documented (a number, which pydantic would read
as Unix time, is refused), a naive one is UTC, and years 1-9999 bound it. A query
parameter outside its bounds is a 400 naming it (the request validation handler). A path
id is documented with the pattern of the ids that can exist, but a value outside it is the
route's 404, the same answer as an id that is merely unknown.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
BIGINT_MAX = 2**63 - 1
REQUEST_ID = r"^[\x21-\x7e]{1,128}$"
"""A request id as ``RequestIdMiddleware`` accepts or mints one (printable ASCII, at most 128
bytes); a record's numeric id (at most 19 digits) fits it too."""


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_8601(value: object) -> object:
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("must be an ISO 8601 date-time such as 2025-01-31T12:00:00Z")
    return value


Moment = Annotated[dt.datetime, BeforeValidator(_iso_8601)]
"""A datetime query parameter: ISO 8601 text only (``date-time`` in the document)."""


def text_filter(max_length: int, description: str) -> Any:
    """An optional printable text query parameter of at most ``max_length`` characters."""
    return Query(default=None, max_length=max_length, pattern=PRINTABLE, description=description)


def choices_pattern(names: Iterable[str]) -> str:
    """A pattern for one of ``names`` or several comma-separated (whitespace and empty items allowed)."""
    name = "(" + "|".join(re.escape(n) for n in names) + ")"
    return rf"^\s*{name}?\s*(,\s*{name}?\s*)*$"


def path_id(pattern: str, max_length: int, description: str) -> Any:
    """A path id documented as matching ``pattern`` (at most ``max_length`` characters); the
    route itself answers any other value with its 404 (see the module docstring)."""
    return Path(description=description, json_schema_extra={"pattern": pattern, "maxLength": max_length})
