"""Database fixtures: ``postgres_url`` (a fresh PostgreSQL database per test).

The server is ``TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
When it is unreachable, tests using ``postgres_url`` are skipped, or fail when
``REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)


def _libpq_url(database: str | None = None) -> str:
    url = make_url(_admin_url()).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def _admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection to the admin database; skips or fails the test when
    PostgreSQL is unreachable."""
    try:
        return psycopg.connect(_libpq_url(), autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        message = f"PostgreSQL unreachable at {_libpq_url()}: {exc}".strip()
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{message} (REQUIRE_POSTGRES=1)")
        pytest.skip(message)


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A ``postgresql+psycopg://`` URL of a new, empty database, dropped on exit."""
    name = f"gw_test_{uuid.uuid4().hex[:16]}"
    with _admin_connection() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _libpq_url(name).replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with _admin_connection() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty database for one test (``fresh_database``)."""
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def module_postgres_url() -> Iterator[str]:
    """A new, empty database shared by one test module (``fresh_database``)."""
    with fresh_database() as url:
        yield url
