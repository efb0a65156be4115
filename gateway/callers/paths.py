"""Client text inside upstream URL paths: percent-encoded segments, dot segments refused.

Some providers put the model name in the URL path. There it must stay data:
``segment`` percent-encodes every character outside RFC 3986's unreserved set
(``A-Z a-z 0-9 - . _ ~``), ``/`` included, so ``?``, ``#``, ``%`` and ``/`` in a
name cannot end the path, start a query or fragment, or add a segment. The
segments ``.`` and ``..`` consist of unreserved characters only, and dot-segment
removal (RFC 3986 section 5.2.4, done by HTTP clients and servers alike) would
resolve them against the path before them; they, and the empty segment, are
refused with an ``InvalidRequestError`` (400) naming the parameter, before any
upstream call. ``segments`` does the same for a name whose ``/`` separates
segments by design (Hugging Face's ``org/model``), after bounding their number.
"""

from __future__ import annotations

from urllib.parse import quote

from gateway.errors import InvalidRequestError

_REFUSED_SEGMENTS = frozenset({"", ".", ".."})
_SHOWN = 200


def invalid_name(value: str, provider: str, why: str, param: str = "model") -> InvalidRequestError:
    """The 400 for a ``param`` value that cannot name an upstream resource."""
    shown = value if len(value) <= _SHOWN else value[:_SHOWN] + "..."
    return InvalidRequestError(f"{provider}: {param} '{shown}' is not a valid name: {why}.", param=param,
                               code="invalid_model_name", provider=provider)


def _checked(part: str, whole: str, provider: str, param: str) -> str:
    if part in _REFUSED_SEGMENTS:
        why = "it has an empty path segment" if not part else f"it has a '{part}' path segment"
        raise invalid_name(whole, provider, why, param)
    return quote(part, safe="")


def segment(value: str, provider: str, param: str = "model") -> str:
    """``value`` as exactly one percent-encoded path segment (a ``/`` in it becomes ``%2F``).

    Raises ``InvalidRequestError`` naming ``param`` for ``""``, ``"."`` and ``".."``."""
    return _checked(value, value, provider, param)


def segments(value: str, provider: str, *, most: int, param: str = "model") -> str:
    """``value`` split at ``/`` into at most ``most`` segments, each as ``segment`` encodes it,
    joined by ``/``.

    Raises ``InvalidRequestError`` naming ``param`` for more segments than ``most`` and for
    an empty, ``.`` or ``..`` segment."""
    parts = value.split("/")
    if len(parts) > most:
        raise invalid_name(value, provider, f"it has more than {most} '/'-separated parts", param)
    return "/".join(_checked(part, value, provider, param) for part in parts)
