"""Alembic environment for the gateway's records database.

The URL is ``sqlalchemy.url`` when set on the config (``gateway.store.db.run_migrations``
sets it), otherwise ``GATEWAY_DATABASE_URL`` (default ``sqlite:///./gateway.db``).
A bare ``postgresql://`` or ``postgres://`` URL is rewritten to psycopg 3.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context

from gateway.store.db import create_engine_for, normalize_url
from gateway.store.models import Base

DEFAULT_URL = "sqlite:///./gateway.db"

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    configured = config.get_main_option("sqlalchemy.url")
    return normalize_url(configured or os.environ.get("GATEWAY_DATABASE_URL") or DEFAULT_URL)


def _configure_logging() -> None:
    if config.config_file_name and config.attributes.get("configure_logging", True):
        fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations_offline() -> None:
    """Emit the SQL to stdout instead of running it (``alembic upgrade head --sql``)."""
    url = _database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations against the database, in one transaction."""
    engine = create_engine_for(_database_url())
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


_configure_logging()
if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
