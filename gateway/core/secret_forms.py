"""The forms in which an upstream may echo a secret back, so redaction masks every one.

An upstream error can quote a credential as sent or transformed: URL-encoded
(percent-encoding with upper- or lower-case hex, ``+`` for a space), or in base64,
standard or URL-safe alphabet, padded or not, of the secret alone or of a longer text
holding it (``user:key`` Basic credentials, ``Bearer <key>``, a JSON document). Inside
a longer base64 text the secret's bytes start at one of three offsets within a 3-byte
group; for each offset, the characters that depend on the secret's bytes alone are a
fixed string (``_base64_cores``), so masking them hides the secret whatever surrounds
it (at each edge, the one character that mixes in a neighbouring byte stays). Base64
forms are added only for secrets of at least ``MIN_BASE64_SECRET`` characters, so that
short values do not mask chance matches in unrelated base64 data.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MIN_BASE64_SECRET = 8
_URLSAFE = str.maketrans("+/", "-_")


def _lower_hex(encoded: str) -> str:
    parts = encoded.split("%")
    return parts[0] + "".join("%" + part[:2].lower() + part[2:] for part in parts[1:])


def _url_forms(secret: str) -> set[str]:
    encoded = {quote(secret, safe=""), quote(secret, safe="/"), quote_plus(secret)}
    return encoded | {_lower_hex(form) for form in encoded}


def _base64_cores(data: bytes) -> set[str]:
    """For each byte offset 0-2, the base64 characters fixed by ``data`` alone."""
    cores: set[str] = set()
    for offset in range(3):
        text = base64.b64encode(bytes(offset) + data).decode()
        start, end = -(-8 * offset // 6), 8 * (offset + len(data)) // 6
        cores.add(text[start:end])
    return cores


def _base64_forms(secret: str) -> set[str]:
    data = secret.encode()
    padded = base64.b64encode(data).decode()
    standard = _base64_cores(data) | {padded, padded.rstrip("=")}
    return standard | {form.translate(_URLSAFE) for form in standard}


def secret_forms(secret: str) -> set[str]:
    """``secret`` itself, its URL-encoded forms and (for a long enough secret) its base64 forms."""
    forms = {secret} | _url_forms(secret)
    if len(secret) >= MIN_BASE64_SECRET:
        forms |= _base64_forms(secret)
    return forms


def all_forms(secrets: Iterable[str], min_length: int) -> list[str]:
    """Every form of every secret of at least ``min_length`` characters, longest first (so a
    regex alternation, or a replacement loop, masks the padded form before the bare one)."""
    forms = {form for secret in secrets if len(secret) >= min_length for form in secret_forms(secret)}
    return sorted(forms, key=len, reverse=True)
