"""webhook_endpoints, webhook_deliveries, and lora_models.user_id

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00.000000

Users' webhook endpoints and the deliveries of jobs' events to them (services.jobs.webhooks). A
LoRA model now records who started its training, so its lora.completed can reach their endpoints;
rows from before have none and send nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from services.common.migrations import create_updated_at_trigger, drop_updated_at_trigger

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "jobs"


def upgrade() -> None:
    op.add_column("lora_models", sa.Column("user_id", sa.UUID(), nullable=True), schema=SCHEMA)
    op.create_index(op.f("ix_lora_models_user_id"), "lora_models", ["user_id"], unique=False, schema=SCHEMA)
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.String(length=50)), nullable=False),
        sa.Column("description", sa.String(length=500), server_default="", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("secret_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_webhook_endpoints_user_id_created_at",
        "webhook_endpoints",
        ["user_id", "created_at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("endpoint_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("final_key", sa.String(length=1024), nullable=True),
        sa.Column("project_id", sa.UUID(), nullable=True),
        sa.Column("brand_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=True
        ),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "recent_attempts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name=op.f("ck_webhook_deliveries_status")
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            [f"{SCHEMA}.webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_id_created_at",
        "webhook_deliveries",
        ["endpoint_id", "created_at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_webhook_deliveries_project_id"), "webhook_deliveries", ["project_id"], schema=SCHEMA
    )
    op.create_index(op.f("ix_webhook_deliveries_brand_id"), "webhook_deliveries", ["brand_id"], schema=SCHEMA)
    create_updated_at_trigger(SCHEMA, "webhook_endpoints")
    create_updated_at_trigger(SCHEMA, "webhook_deliveries")


def downgrade() -> None:
    drop_updated_at_trigger(SCHEMA, "webhook_deliveries")
    drop_updated_at_trigger(SCHEMA, "webhook_endpoints")
    op.drop_table("webhook_deliveries", schema=SCHEMA)
    op.drop_table("webhook_endpoints", schema=SCHEMA)
    op.drop_index(op.f("ix_lora_models_user_id"), table_name="lora_models", schema=SCHEMA)
    op.drop_column("lora_models", "user_id", schema=SCHEMA)
