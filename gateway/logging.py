"""Secret redaction for log records (and the ``Redactor`` the body capture reuses).

``install_redaction(secrets_provider)`` makes every log record created in the
process - any logger, any handler, including handlers added later such as a test's
capture - pass through ``RedactingFilter`` first: the message is formatted with its
arguments, then every known secret value (what ``secrets_provider`` returns: provider
credentials, the master key) and anything shaped like a credential
(``Bearer <token>``, ``sk-...``, ``gw-...``, ``?key=...``) is masked, in the message,
the formatted exception and the stack text. The hook is a log-record factory, since a
filter on one logger does not see records propagated from its children.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from gateway.core.secret_forms import all_forms

MASK = "***"
MIN_SECRET_LENGTH = 4

_SHAPES = re.compile(
    r"(?P<bearer>\b[Bb]earer\s+)(?!%)[^\s\"',;]+"
    r"|\b(?P<prefix>sk|gw)-[A-Za-z0-9_\-]{3,}"
    r"|(?P<query>[?&](?:key|api_key|api-key|token|access_token)=)(?!%)[^&\s\"']+"
)


def _shape(match: re.Match[str]) -> str:
    if match.group("bearer"):
        return match.group("bearer") + MASK
    if match.group("prefix"):
        return match.group("prefix") + "-" + MASK
    return match.group("query") + MASK


class Redactor:
    """Masks known secret values (at least ``MIN_SECRET_LENGTH`` characters), in every form an
    upstream may echo them in (``gateway.core.secret_forms``: URL-encoded, base64), and
    credential-shaped tokens in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        known = all_forms(secrets, MIN_SECRET_LENGTH)
        self._known = re.compile("|".join(re.escape(s) for s in known)) if known else None

    def __call__(self, text: str) -> str:
        if self._known is not None:
            text = self._known.sub(MASK, text)
        if "key=" in text or "token=" in text or "sk-" in text or "gw-" in text or "earer" in text:
            return _SHAPES.sub(_shape, text)
        return text


class RedactingFilter(logging.Filter):
    """Rewrites a record in place so no handler can format a secret out of it.

    The format string and each argument are redacted separately (the arguments keep
    their shape: formatters such as uvicorn's access formatter unpack them); an
    argument that is not a string is replaced by its redacted text only when its text
    held something to mask. If the formatted message still holds something to mask,
    the record is collapsed to that redacted text. A traceback is formatted now, then
    redacted."""

    def __init__(self, redactor: Callable[[str], str]) -> None:
        super().__init__()
        self.redact = redactor

    def _value(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self.redact(value)
        text = str(value)
        redacted = self.redact(text)
        if redacted != text:
            return redacted
        shown = repr(value)
        redacted = self.redact(shown)
        return value if redacted == shown else redacted

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._value(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: self._value(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(self._value(value) for value in record.args)
        if record.args:
            self._collapse_if_needed(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True

    def _collapse_if_needed(self, record: logging.LogRecord) -> None:
        """A secret split between the format string and an argument (``"Bearer %s"``) shows
        only once formatted: then the record keeps the redacted text and loses its arguments."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: the handler reports it, without our help
            return
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None


class _Installed:
    """The process-wide record factory and the filters currently installed."""

    lock = threading.Lock()
    filters: list[RedactingFilter] = []
    previous: Callable[..., logging.LogRecord] | None = None


def _factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = (_Installed.previous or logging.LogRecord)(*args, **kwargs)
    for redacting in tuple(_Installed.filters):
        redacting.filter(record)
    return record


def install_redaction(secrets_provider: Callable[[], Iterable[str]]) -> Callable[[], None]:
    """Redact ``secrets_provider()`` (read once, now) and credential shapes from every log
    record from now on; returns the function that uninstalls this redaction."""
    redacting = RedactingFilter(Redactor(secrets_provider()))
    with _Installed.lock:
        if _Installed.previous is None:
            _Installed.previous = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_factory)
        _Installed.filters.append(redacting)

    def uninstall() -> None:
        with _Installed.lock:
            if redacting in _Installed.filters:
                _Installed.filters.remove(redacting)
            if not _Installed.filters and logging.getLogRecordFactory() is _factory:
                logging.setLogRecordFactory(_Installed.previous or logging.LogRecord)
                _Installed.previous = None

    return uninstall
