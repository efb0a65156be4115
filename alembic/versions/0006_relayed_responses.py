"""stored_responses.provider and .model (responses a provider created and holds, relayed natively);
stored_response_items (which response an output item id belongs to, for item_reference inputs)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stored_responses") as batch:
        batch.add_column(sa.Column("provider", sa.String(64), nullable=True))
        batch.add_column(sa.Column("model", sa.String(256), nullable=True))
    op.create_table(
        "stored_response_items",
        sa.Column("item_id", sa.String(128), primary_key=True),
        sa.Column("response_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_stored_response_items_response_id", "stored_response_items", ["response_id"])


def downgrade() -> None:
    op.drop_index("ix_stored_response_items_response_id", table_name="stored_response_items")
    op.drop_table("stored_response_items")
    with op.batch_alter_table("stored_responses") as batch:
        batch.drop_column("model")
        batch.drop_column("provider")
