"""request_records and request_attempts

Revision ID: 0001
Revises:
Create Date: 2024-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AUTO_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

RECORD_INDEXES: dict[str, list[str]] = {
    "ix_request_records_request_id": ["request_id"],
    "ix_request_records_provider_id": ["provider", "id"],
    "ix_request_records_model_requested_id": ["model_requested", "id"],
    "ix_request_records_status_id": ["status", "id"],
    "ix_request_records_key_id_id": ["key_id", "id"],
    "ix_request_records_created_at_id": ["created_at", "id"],
}


def upgrade() -> None:
    op.create_table(
        "request_records",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(64), nullable=True),
        sa.Column("model_requested", sa.String(256), nullable=True),
        sa.Column("model_answered", sa.String(256), nullable=True),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("time_taken_ms", sa.Float(), nullable=False),
        sa.Column("first_token_ms", sa.Float(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("total_tokens", sa.Integer(), nullable=True),
        sa.Column("error_type", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("metadata", JSON_TYPE, nullable=False),
        sa.Column("metrics", JSON_TYPE, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_request_records"),
    )
    for name, columns in RECORD_INDEXES.items():
        op.create_index(name, "request_records", columns)

    op.create_table(
        "request_attempts",
        sa.Column("id", AUTO_BIGINT, autoincrement=True, nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error_type", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("time_taken_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_request_attempts"),
    )
    op.create_index(
        "ix_request_attempts_record_id_attempt", "request_attempts", ["record_id", "attempt"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_request_attempts_record_id_attempt", table_name="request_attempts")
    op.drop_table("request_attempts")
    for name in RECORD_INDEXES:
        op.drop_index(name, table_name="request_records")
    op.drop_table("request_records")
