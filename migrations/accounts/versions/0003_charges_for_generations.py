"""charges for generations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:20:17.043193
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "accounts"


def upgrade() -> None:
    op.create_table(
        "charges",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("generation_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('free_video', 'credit')", name=op.f("ck_charges_kind")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["accounts.users.id"], name=op.f("fk_charges_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charges")),
        sa.UniqueConstraint("generation_id", name=op.f("uq_charges_generation_id")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_charges_user_id"), "charges", ["user_id"], unique=False, schema=SCHEMA)


def downgrade() -> None:
    op.drop_index(op.f("ix_charges_user_id"), table_name="charges", schema=SCHEMA)
    op.drop_table("charges", schema=SCHEMA)
