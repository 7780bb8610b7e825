"""initial jobs schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 11:22:04.895500
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

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

SCHEMA = "jobs"


def upgrade() -> None:
    op.create_table(
        "generation_jobs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("ad_project_id", sa.UUID(), nullable=False),
        sa.Column("job_type", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("replicate_job_id", sa.String(length=100), nullable=True),
        sa.Column(
            "input_params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("output_url", sa.String(length=1024), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "job_type IN ('diagnostic', 'scene', 'voiceover', 'music', 'composite')",
            name=op.f("ck_generation_jobs_job_type"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')",
            name=op.f("ck_generation_jobs_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generation_jobs")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_generation_jobs_ad_project_id"),
        "generation_jobs",
        ["ad_project_id"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_index(
        "ix_generation_jobs_pending",
        "generation_jobs",
        ["created_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        op.f("ix_generation_jobs_status"), "generation_jobs", ["status"], unique=False, schema=SCHEMA
    )
    op.create_table(
        "lora_models",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("model_url", sa.String(length=1024), nullable=True),
        sa.Column("preview_image_url", sa.String(length=1024), nullable=True),
        sa.Column("training_job_id", sa.String(length=100), nullable=True),
        sa.Column("user_approved", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'training', 'completed', 'failed')", name=op.f("ck_lora_models_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lora_models")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_lora_models_brand_id"), "lora_models", ["brand_id"], unique=False, schema=SCHEMA)
    op.create_index(op.f("ix_lora_models_status"), "lora_models", ["status"], unique=False, schema=SCHEMA)

    # updated_at is kept current by the database, whoever writes the row.
    create_updated_at_function(SCHEMA)
    create_updated_at_trigger(SCHEMA, "generation_jobs")
    create_updated_at_trigger(SCHEMA, "lora_models")


def downgrade() -> None:
    drop_updated_at_trigger(SCHEMA, "generation_jobs")
    drop_updated_at_trigger(SCHEMA, "lora_models")
    drop_updated_at_function(SCHEMA)
    op.drop_index(op.f("ix_lora_models_status"), table_name="lora_models", schema=SCHEMA)
    op.drop_index(op.f("ix_lora_models_brand_id"), table_name="lora_models", schema=SCHEMA)
    op.drop_table("lora_models", schema=SCHEMA)
    op.drop_index(op.f("ix_generation_jobs_status"), table_name="generation_jobs", schema=SCHEMA)
    op.drop_index(
        "ix_generation_jobs_pending",
        table_name="generation_jobs",
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(op.f("ix_generation_jobs_ad_project_id"), table_name="generation_jobs", schema=SCHEMA)
    op.drop_table("generation_jobs", schema=SCHEMA)
