"""Fixtures shared by the input tests: ``module_postgres_url``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from psycopg import sql

from tests.postgres import _admin_connection, _libpq_url


@pytest.fixture(scope="module")
def module_postgres_url() -> Iterator[str]:
    """Like ``postgres_url``, for a whole module: a new, empty database, dropped afterwards."""
    name = f"gw_test_{uuid.uuid4().hex[:16]}"
    with _admin_connection() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _libpq_url(name).replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with _admin_connection() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
