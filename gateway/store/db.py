"""Engines, migrations and the health check for the records database.

Supported URLs: ``sqlite:///path`` (``sqlite://`` for in-memory) and PostgreSQL as
``postgresql+psycopg://``; ``postgresql://`` and ``postgres://`` are rewritten to the
psycopg driver.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

import gateway

log = logging.getLogger(__name__)

_PG_PREFIXES = ("postgresql://", "postgres://")
_PG_DRIVER_PREFIX = "postgresql+psycopg://"
_SQLITE_MEMORY = ("", ":memory:")


def normalize_url(url: str) -> str:
    """``url`` with a bare PostgreSQL scheme rewritten to ``postgresql+psycopg://``;
    any other URL is returned unchanged."""
    for prefix in _PG_PREFIXES:
        if url.startswith(prefix):
            return _PG_DRIVER_PREFIX + url[len(prefix) :]
    return url


def json_serializer(value: Any) -> str:
    """JSON text for JSON columns: compact, non-string keys allowed, unknown types
    rendered with ``str`` so a stray object never makes a row unwritable."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def create_engine_for(url: str) -> Engine:
    """An engine for ``url``.

    SQLite: usable from any thread, WAL journal and ``synchronous=NORMAL``; the
    parent directory of a file database is created if missing; an in-memory
    database is one shared connection. PostgreSQL: psycopg 3, a small pool whose
    connections are checked before use; connecting gives up after 5 s, so an unreachable
    host cannot hang the record writer or readiness checks. Errors never show bound
    parameters (they hold client data).
    """
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            pool_recycle=1800,
            pool_timeout=10,
            connect_args={"connect_timeout": 5},
            json_serializer=json_serializer,
            hide_parameters=True,
        )
    return sa.create_engine(parsed, pool_pre_ping=True, json_serializer=json_serializer, hide_parameters=True)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in _SQLITE_MEMORY or database.startswith("file:")
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False},
        poolclass=StaticPool if database in _SQLITE_MEMORY else None,
        json_serializer=json_serializer,
        hide_parameters=True,
    )
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def project_root() -> Path:
    """The directory holding the ``gateway`` package, ``alembic.ini`` and ``alembic/``."""
    return Path(gateway.__file__).resolve().parent.parent


def alembic_config(url: str) -> Config:
    """An alembic ``Config`` for the project's migrations, targeting ``url``.

    Uses ``alembic.ini`` from the project root when present, otherwise a config
    built in code; either way ``script_location`` is the project's ``alembic/``.
    """
    root = project_root()
    ini = root / "alembic.ini"
    config = Config(str(ini)) if ini.is_file() else Config()
    config.set_main_option("script_location", str(root / "alembic"))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def run_migrations(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (``alembic upgrade head``).

    Leaves the application's logging configuration alone. Raises whatever alembic or
    the database raises.
    """
    command.upgrade(alembic_config(url), "head")


def ping(engine: Engine) -> bool:
    """True when ``SELECT 1`` succeeds on ``engine``; False on any error. Never raises."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception:
        log.debug("database ping failed", exc_info=True)
        return False
    return True
