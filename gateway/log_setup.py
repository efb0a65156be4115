"""Where log lines go and what they look like: one handler on stderr, text or JSON.

``logging_config(level, log_format)`` is a ``logging.config.dictConfig`` mapping.
``configure_logging`` applies it for the CLI, and ``gateway serve`` passes the same mapping
to uvicorn (``uvicorn.run(..., **uvicorn_log_options(level, log_format))``), which applies
it again in every worker process, so uvicorn keeps it: the gateway's records, uvicorn's
(``uvicorn``, ``uvicorn.error``) and the access log (``gateway.access``) all propagate to
the root logger's one handler. uvicorn's own access logger is silenced (``gateway.access``
replaces it).

``level`` (``GATEWAY_LOG_LEVEL``) applies to the ``gateway`` and ``uvicorn`` loggers;
other libraries log at INFO and above at most (``httpx``, ``httpcore`` and ``alembic``,
which log every request or migration step at INFO, at WARNING), so ``debug`` shows the
gateway's debug lines rather than every library's.

``JsonFormatter`` (``GATEWAY_LOG_FORMAT=json``) writes one JSON object per line:
``timestamp`` (UTC, ISO 8601, milliseconds), ``level``, ``logger``, ``message``; when the
record's argument is a mapping (the access and upstream lines log that way), each of its
items as a field; ``exception`` and ``stack`` when present. Secrets are masked before a
record reaches any formatter (``gateway.logging``); the fields are the record's
arguments, so they are masked too.
"""

from __future__ import annotations

import json
import logging
import logging.config
import time
from collections.abc import Mapping
from typing import Any

import orjson

LEVELS = {"critical": logging.CRITICAL, "error": logging.ERROR, "warning": logging.WARNING,
          "info": logging.INFO, "debug": logging.DEBUG, "trace": 5}
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = ("httpx", "httpcore", "alembic")
_CORE = frozenset({"timestamp", "level", "logger", "message", "exception", "stack"})


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (see the module docstring for the keys)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if isinstance(record.args, Mapping):
            entry.update((str(k), v) for k, v in record.args.items() if str(k) not in _CORE)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:
            return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(level: str = "info", log_format: str = "text") -> dict[str, Any]:
    """The ``dictConfig`` mapping for ``level`` (a ``LEVELS`` name) and ``log_format``
    (``text`` or ``json``); raises ``ValueError`` for anything else. Loggers it does not
    name keep working (``disable_existing_loggers`` is off)."""
    number = LEVELS.get(level.lower())
    if number is None or log_format not in FORMATS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)} and format one of {', '.join(FORMATS)}; "
                         f"got {level!r} and {log_format!r}")
    formatter: dict[str, Any] = ({"()": f"{__name__}.JsonFormatter"} if log_format == "json"
                                 else {"format": TEXT_FORMAT})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"gateway": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "gateway",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": max(number, logging.INFO), "handlers": ["stderr"]},
        "loggers": {
            "gateway": {"level": number},
            "uvicorn": {"level": number, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": number, "handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
            **{name: {"level": logging.WARNING} for name in QUIET},
        },
    }


def uvicorn_log_options(level: str = "info", log_format: str = "text") -> dict[str, Any]:
    """The logging arguments for ``uvicorn.run``: this module's configuration (applied in
    every worker), uvicorn's loggers at ``level``, and no uvicorn access log."""
    return {"log_config": logging_config(level, log_format), "log_level": LEVELS[level.lower()],
            "access_log": False}


def configure_logging(level: str = "info", log_format: str = "text") -> None:
    """Apply ``logging_config(level, log_format)``, unless the root logger already has a
    handler (then whoever installed it, a test runner or an embedding program, owns the
    logging set-up, as with ``logging.basicConfig``)."""
    if logging.getLogger().handlers:
        return
    logging.config.dictConfig(logging_config(level, log_format))
