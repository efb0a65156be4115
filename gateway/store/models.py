"""Declarative models of the tables; the alembic migrations create them.

Datetimes are stored in UTC and always come back timezone-aware (UTC), also on
SQLite, which has no timezone-aware column type.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

JSONType = JSON().with_variant(JSONB(), "postgresql")
"""Portable JSON column type: ``JSONB`` on PostgreSQL, ``JSON`` elsewhere."""

AutoBigInteger = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit autoincrement key; SQLite only autoincrements ``INTEGER PRIMARY KEY``."""


def window_start(end: dt.datetime, span: dt.timedelta) -> dt.datetime:
    """``end - span``, clamped to the earliest representable time instead of overflowing."""
    floor = dt.datetime.min.replace(tzinfo=dt.UTC)
    return end - span if end - floor > span else floor


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal: ``NUMERIC(24, 12)`` on PostgreSQL; decimal text on SQLite, which
    has no exact numeric type (its NUMERIC affinity would round through a float)."""

    impl = Numeric(24, 12)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(24, 12, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


class UTCDateTime(TypeDecorator[dt.datetime]):
    """``DateTime(timezone=True)`` that binds UTC and returns aware UTC datetimes.

    A naive datetime is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else as_utc(value)


def as_utc(value: dt.datetime) -> dt.datetime:
    """``value`` as an aware UTC datetime; a naive ``value`` is taken to be UTC. A value whose
    offset takes it past the ends of the datetime range saturates at that end."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        return (dt.datetime.min if value.year == dt.MINYEAR else dt.datetime.max).replace(tzinfo=dt.UTC)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; ``Base.metadata`` is the migrations' target metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RequestRecordRow(Base):
    """One row per request (see ``gateway.store.records.RequestRecord``)."""

    __tablename__ = "request_records"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    endpoint: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str | None] = mapped_column(String(64))
    model_requested: Mapped[str | None] = mapped_column(String(256))
    model_answered: Mapped[str | None] = mapped_column(String(256))
    stream: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int] = mapped_column(Integer)
    time_taken_ms: Mapped[float] = mapped_column(Float)
    first_token_ms: Mapped[float | None] = mapped_column(Float)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    total_tokens: Mapped[int | None] = mapped_column(Integer)
    error_type: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(64))
    input_cost: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    output_cost: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    cost: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    request_body: Mapped[Any] = mapped_column(JSONType, nullable=True)
    response_body: Mapped[Any] = mapped_column(JSONType, nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType)
    metrics: Mapped[list[dict[str, str]]] = mapped_column(JSONType)

    __table_args__ = (
        Index("ix_request_records_provider_id", "provider", "id"),
        Index("ix_request_records_model_requested_id", "model_requested", "id"),
        Index("ix_request_records_status_id", "status", "id"),
        Index("ix_request_records_key_id_id", "key_id", "id"),
        Index("ix_request_records_created_at_id", "created_at", "id"),
    )


class RequestAttemptRow(Base):
    """One upstream attempt (retry or fallback) of a request; ``record_id`` is
    ``request_records.id`` without a foreign key, so both may be written in one batch.
    ``(record_id, attempt)`` is unique, which makes a retried batch insert idempotent."""

    __tablename__ = "request_attempts"

    id: Mapped[int] = mapped_column(AutoBigInteger, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int | None] = mapped_column(Integer)
    error_type: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    time_taken_ms: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_request_attempts_record_id_attempt", "record_id", "attempt", unique=True),)


class ApiKeyRow(Base):
    """A gateway API key. Only the SHA-256 of the key is stored; ``prefix`` (its first
    characters) lets operators tell keys apart. ``models`` limits which public model
    names it may use (``None``: any)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    models: Mapped[Any] = mapped_column(JSONType, nullable=True)
    rpm: Mapped[int | None] = mapped_column(Integer)
    tpm: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class MachineLeaseRow(Base):
    """A lease on snowflake machine id ``id`` (0-1023): held by ``holder`` (one process's
    random token) until ``expires_at``; ``last_ms`` is the newest id time its holders
    reported, so the next holder starts after it. A released lease stays as an expired row."""

    __tablename__ = "machine_leases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_ms: Mapped[int] = mapped_column(BigInteger)


RECORDS: Table = Base.metadata.tables["request_records"]
ATTEMPTS: Table = Base.metadata.tables["request_attempts"]
API_KEYS: Table = Base.metadata.tables["api_keys"]
MACHINE_LEASES: Table = Base.metadata.tables["machine_leases"]

import gateway.store.responses  # noqa: E402,F401  (defines stored_responses on Base.metadata)
