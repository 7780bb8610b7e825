"""initial media schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 11:22:04.277938
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.migrations import (
    create_updated_at_function,
    create_updated_at_trigger,
    drop_updated_at_function,
    drop_updated_at_trigger,
)

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "media"


def upgrade() -> None:
    op.create_table(
        "media_objects",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("checksum_sha256", sa.String(length=64), nullable=True),
        sa.Column("version_id", sa.String(length=1024), nullable=True),
        sa.Column("brand_id", sa.UUID(), nullable=True),
        sa.Column("ad_project_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_media_objects_size_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_objects")),
        sa.UniqueConstraint("key", name=op.f("uq_media_objects_key")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_media_objects_ad_project_id"),
        "media_objects",
        ["ad_project_id"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_media_objects_brand_id"), "media_objects", ["brand_id"], unique=False, schema=SCHEMA
    )

    # updated_at is kept current by the database, whoever writes the row.
    create_updated_at_function(SCHEMA)
    create_updated_at_trigger(SCHEMA, "media_objects")


def downgrade() -> None:
    drop_updated_at_trigger(SCHEMA, "media_objects")
    drop_updated_at_function(SCHEMA)
    op.drop_index(op.f("ix_media_objects_brand_id"), table_name="media_objects", schema=SCHEMA)
    op.drop_index(op.f("ix_media_objects_ad_project_id"), table_name="media_objects", schema=SCHEMA)
    op.drop_table("media_objects", schema=SCHEMA)
