"""request_records: exact cost columns and optional captured bodies

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
DECIMAL = sa.Numeric(24, 12).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("request_records") as batch:
        batch.add_column(sa.Column("input_cost", DECIMAL, nullable=True))
        batch.add_column(sa.Column("output_cost", DECIMAL, nullable=True))
        batch.add_column(sa.Column("cost", DECIMAL, nullable=True))
        batch.add_column(sa.Column("request_body", JSON_TYPE, nullable=True))
        batch.add_column(sa.Column("response_body", JSON_TYPE, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request_records") as batch:
        for name in ("response_body", "request_body", "cost", "output_cost", "input_cost"):
            batch.drop_column(name)
