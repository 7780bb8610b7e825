"""generations and generation steps

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:20:01.620584
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from services.common.migrations import create_updated_at_trigger, drop_updated_at_trigger

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "jobs"


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("ad_project_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="charging", nullable=False),
        sa.Column("aspect", sa.String(length=8), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column(
            "plan",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("charge", sa.String(length=20), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refund_due", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("project_status_due", sa.String(length=20), nullable=True),
        sa.Column("final_key", sa.String(length=1024), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("aspect IN ('9:16', '16:9', '1:1')", name=op.f("ck_generations_aspect")),
        sa.CheckConstraint(
            "charge IS NULL OR charge IN ('free_video', 'credit')", name=op.f("ck_generations_charge")
        ),
        sa.CheckConstraint(
            "status IN ('charging', 'pending', 'processing', 'completed', 'failed', 'cancelled', 'rejected')",
            name=op.f("ck_generations_status"),
        ),
        sa.CheckConstraint("resolution BETWEEN 144 AND 2160", name=op.f("ck_generations_resolution")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generations")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_generations_ad_project_id_created_at",
        "generations",
        ["ad_project_id", "created_at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_generations_status"), "generations", ["status"], unique=False, schema=SCHEMA)
    op.create_index(op.f("ix_generations_user_id"), "generations", ["user_id"], unique=False, schema=SCHEMA)
    op.create_index(
        "uq_generations_active_project",
        "generations",
        ["ad_project_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("status IN ('charging', 'pending', 'processing')"),
    )
    op.create_index(
        "uq_generations_user_idempotency_key",
        "generations",
        ["user_id", "idempotency_key"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.add_column("generation_jobs", sa.Column("generation_id", sa.UUID(), nullable=True), schema=SCHEMA)
    op.add_column("generation_jobs", sa.Column("name", sa.String(length=30), nullable=True), schema=SCHEMA)
    op.add_column(
        "generation_jobs",
        sa.Column("progress", sa.Integer(), server_default="0", nullable=False),
        schema=SCHEMA,
    )
    op.add_column("generation_jobs", sa.Column("stage", sa.String(length=100), nullable=True), schema=SCHEMA)
    op.add_column(
        "generation_jobs",
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        schema=SCHEMA,
    )
    op.add_column(
        "generation_jobs", sa.Column("provider", sa.String(length=30), nullable=True), schema=SCHEMA
    )
    op.create_index(
        op.f("ix_generation_jobs_generation_id"),
        "generation_jobs",
        ["generation_id"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_foreign_key(
        op.f("fk_generation_jobs_generation_id_generations"),
        "generation_jobs",
        "generations",
        ["generation_id"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
        ondelete="CASCADE",
    )
    op.create_check_constraint(
        op.f("ck_generation_jobs_progress"), "generation_jobs", "progress BETWEEN 0 AND 100", schema=SCHEMA
    )
    # The set_updated_at() function came with 0001.
    create_updated_at_trigger(SCHEMA, "generations")


def downgrade() -> None:
    drop_updated_at_trigger(SCHEMA, "generations")
    op.drop_constraint(op.f("ck_generation_jobs_progress"), "generation_jobs", schema=SCHEMA, type_="check")
    op.drop_constraint(
        op.f("fk_generation_jobs_generation_id_generations"),
        "generation_jobs",
        schema=SCHEMA,
        type_="foreignkey",
    )
    op.drop_index(op.f("ix_generation_jobs_generation_id"), table_name="generation_jobs", schema=SCHEMA)
    op.drop_column("generation_jobs", "provider", schema=SCHEMA)
    op.drop_column("generation_jobs", "attempts", schema=SCHEMA)
    op.drop_column("generation_jobs", "stage", schema=SCHEMA)
    op.drop_column("generation_jobs", "progress", schema=SCHEMA)
    op.drop_column("generation_jobs", "name", schema=SCHEMA)
    op.drop_column("generation_jobs", "generation_id", schema=SCHEMA)
    op.drop_index(
        "uq_generations_user_idempotency_key",
        table_name="generations",
        schema=SCHEMA,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.drop_index(
        "uq_generations_active_project",
        table_name="generations",
        schema=SCHEMA,
        postgresql_where=sa.text("status IN ('charging', 'pending', 'processing')"),
    )
    op.drop_index(op.f("ix_generations_user_id"), table_name="generations", schema=SCHEMA)
    op.drop_index(op.f("ix_generations_status"), table_name="generations", schema=SCHEMA)
    op.drop_index("ix_generations_ad_project_id_created_at", table_name="generations", schema=SCHEMA)
    op.drop_table("generations", schema=SCHEMA)
