"""brand assets beside product images

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 11:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "accounts"


def upgrade() -> None:
    op.add_column(
        "brands",
        sa.Column(
            "brand_assets",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("brands", "brand_assets", schema=SCHEMA)
