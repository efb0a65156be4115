"""What ``POST /v1/credentials/verify`` may check: a client-given credential never sends a
configured secret to a destination the client chose.

The rule, for a non-empty credential in the request body:

- if it names a destination (``DESTINATION_KEYS``: a base URL, an endpoint, a region or
  project), it is checked as given, alone, and so must carry its own secret; URL values must
  be ``http`` or ``https`` URLs with a host, other destination values plain names;
- if it names no destination, it is merged over the configured credential (its values win),
  so its secret goes only where the operator's configuration points;
- values are printable ASCII (they go into headers and URLs), except the content of a file
  credential;
- a key the provider may read as a local file (``ProviderSpec.file_credentials``) must hold
  the file's content (JSON text), never a path: nothing in a request body makes the gateway
  read a file.

Every refusal is a 400 naming ``credential.<key>``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from gateway.callers.base import DESTINATION_KEYS, URL_KEYS, Credential, ProviderSpec
from gateway.errors import InvalidRequestError

_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_HEADER_SAFE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")


def _refuse(key: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=f"credential.{key}", code="invalid_credential")


def _check_destination(key: str, value: str) -> None:
    if key in URL_KEYS:
        try:
            parts = urlsplit(value)
        except ValueError:
            raise _refuse(key, f"'{key}' is not a valid URL.") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _refuse(key, f"'{key}' must be an http:// or https:// URL with a host.")
    elif not _NAME.match(value):
        raise _refuse(key, f"'{key}' may hold only letters, digits, '.', '_' and '-'.")


def _check_text(spec: ProviderSpec, given: Credential) -> None:
    """Values other than file contents go into headers and URLs: printable ASCII only."""
    for key in sorted(given.keys()):
        value = given.get(key) or ""
        if key not in spec.file_credentials and not _HEADER_SAFE.match(value):
            raise _refuse(key, f"'{key}' may hold only printable ASCII characters.")


def _check_inline(spec: ProviderSpec, given: Credential) -> None:
    for key in spec.file_credentials:
        value = given.get(key)
        if value is not None and not value.lstrip().startswith("{"):
            raise _refuse(key, f"'{key}' must be the key's JSON text: a file path in a request is not read.")


def credential_to_verify(spec: ProviderSpec, given: Credential, configured: Credential) -> Credential:
    """The credential to verify for a request that sent ``given`` (see the module docstring);
    raises ``InvalidRequestError`` for a credential that breaks the rule."""
    if not given:
        return configured
    _check_text(spec, given)
    _check_inline(spec, given)
    destinations = sorted(DESTINATION_KEYS.intersection(given.keys()))
    if not destinations:
        return configured.merged(given)
    for key in destinations:
        _check_destination(key, given.get(key) or "")
    if not given.secrets():
        raise _refuse(destinations[0], f"A credential naming a destination ('{destinations[0]}') must carry its own "
                                       "secret: the configured one is never sent to a destination from a request.")
    return given
