"""outbox rows are removed when published (no published_at)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:40:00.000000

The relay now deletes each event in the transaction that publishes it, so every row is unpublished:
published_at and the partial index on it go, and a plain index on created_at (the relay's order)
takes its place. Rows published before this revision are removed with it: the stream has them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "accounts"


def upgrade() -> None:
    op.execute("DELETE FROM accounts.outbox WHERE published_at IS NOT NULL")
    op.drop_index("ix_outbox_unpublished", table_name="outbox", schema=SCHEMA)
    op.drop_column("outbox", "published_at", schema=SCHEMA)
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"], unique=False, schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_outbox_created_at", table_name="outbox", schema=SCHEMA)
    op.add_column(
        "outbox", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["created_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("published_at IS NULL"),
    )
