"""Tool-call ids for Gemini function calls, and the thought signature they carry.

A Gemini ``functionCall`` part usually has no ``id`` (the field is optional and
the Gemini API leaves it empty), so the gateway names calls ``call_<n>`` by their
position in the candidate (``call_<candidate>_<n>`` beyond the first candidate);
an upstream ``id``, when present, is kept instead.

Gemini 3 models attach a ``thoughtSignature`` to function-call parts and reject
the next turn if it does not come back on the same part ("Thought signatures"
guide, https://ai.google.dev/gemini-api/docs/thought-signatures). OpenAI's
format has no field for it, so it travels inside the tool-call id the client
echoes: ``call_0__thought__<signature>``. Request translation splits it off and
puts it back on the ``functionCall`` part.
"""

from __future__ import annotations

SIGNATURE_SEPARATOR = "__thought__"


def generated_id(index: int, position: int) -> str:
    return f"call_{position}" if index == 0 else f"call_{index}_{position}"


def make_call_id(base: str, signature: str | None) -> str:
    return f"{base}{SIGNATURE_SEPARATOR}{signature}" if signature else base


def split_call_id(call_id: str) -> tuple[str, str | None]:
    """``(base id, thought signature or None)``."""
    base, sep, signature = call_id.partition(SIGNATURE_SEPARATOR)
    return (base, signature) if sep and signature else (call_id, None)
