"""initial accounts schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 11:22:03.674670
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

SCHEMA = "accounts"


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("aggregate_id", sa.UUID(), nullable=False),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["created_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("subscription_tier", sa.String(length=20), server_default="free", nullable=False),
        sa.Column("credits", sa.Integer(), server_default="0", nullable=False),
        sa.Column("free_videos_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "subscription_tier IN ('free', 'pro', 'business')", name=op.f("ck_users_subscription_tier")
        ),
        sa.CheckConstraint("credits >= 0", name=op.f("ck_users_credits_non_negative")),
        sa.CheckConstraint("free_videos_used >= 0", name=op.f("ck_users_free_videos_used_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True, schema=SCHEMA
    )
    op.create_table(
        "brands",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "product_images",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "brand_guidelines",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["accounts.users.id"], name=op.f("fk_brands_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brands")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_brands_user_id"), "brands", ["user_id"], unique=False, schema=SCHEMA)
    op.create_table(
        "sessions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["accounts.users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("token", name=op.f("uq_sessions_token")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_sessions_expires_at"), "sessions", ["expires_at"], unique=False, schema=SCHEMA)
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"], unique=False, schema=SCHEMA)
    op.create_table(
        "ad_projects",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="draft", nullable=False),
        sa.Column(
            "ad_details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("zapcut_project_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'scripting', 'generating', 'completed', 'failed')",
            name=op.f("ck_ad_projects_status"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["accounts.brands.id"],
            name=op.f("fk_ad_projects_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["accounts.users.id"], name=op.f("fk_ad_projects_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_projects")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_ad_projects_brand_id"), "ad_projects", ["brand_id"], unique=False, schema=SCHEMA)
    op.create_index(op.f("ix_ad_projects_status"), "ad_projects", ["status"], unique=False, schema=SCHEMA)
    op.create_index(op.f("ix_ad_projects_user_id"), "ad_projects", ["user_id"], unique=False, schema=SCHEMA)
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("ad_project_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("role IN ('user', 'assistant', 'system')", name=op.f("ck_chat_messages_role")),
        sa.ForeignKeyConstraint(
            ["ad_project_id"],
            ["accounts.ad_projects.id"],
            name=op.f("fk_chat_messages_ad_project_id_ad_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_chat_messages_ad_project_id_created_at",
        "chat_messages",
        ["ad_project_id", "created_at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "scripts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("ad_project_id", sa.UUID(), nullable=False),
        sa.Column("storyline", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "scenes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["ad_project_id"],
            ["accounts.ad_projects.id"],
            name=op.f("fk_scripts_ad_project_id_ad_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scripts")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_scripts_ad_project_id"), "scripts", ["ad_project_id"], unique=True, schema=SCHEMA
    )

    # updated_at is kept current by the database, whoever writes the row.
    create_updated_at_function(SCHEMA)
    create_updated_at_trigger(SCHEMA, "users")
    create_updated_at_trigger(SCHEMA, "brands")
    create_updated_at_trigger(SCHEMA, "ad_projects")
    create_updated_at_trigger(SCHEMA, "scripts")


def downgrade() -> None:
    drop_updated_at_trigger(SCHEMA, "users")
    drop_updated_at_trigger(SCHEMA, "brands")
    drop_updated_at_trigger(SCHEMA, "ad_projects")
    drop_updated_at_trigger(SCHEMA, "scripts")
    drop_updated_at_function(SCHEMA)
    op.drop_index(op.f("ix_scripts_ad_project_id"), table_name="scripts", schema=SCHEMA)
    op.drop_table("scripts", schema=SCHEMA)
    op.drop_index("ix_chat_messages_ad_project_id_created_at", table_name="chat_messages", schema=SCHEMA)
    op.drop_table("chat_messages", schema=SCHEMA)
    op.drop_index(op.f("ix_ad_projects_user_id"), table_name="ad_projects", schema=SCHEMA)
    op.drop_index(op.f("ix_ad_projects_status"), table_name="ad_projects", schema=SCHEMA)
    op.drop_index(op.f("ix_ad_projects_brand_id"), table_name="ad_projects", schema=SCHEMA)
    op.drop_table("ad_projects", schema=SCHEMA)
    op.drop_index(op.f("ix_sessions_user_id"), table_name="sessions", schema=SCHEMA)
    op.drop_index(op.f("ix_sessions_expires_at"), table_name="sessions", schema=SCHEMA)
    op.drop_table("sessions", schema=SCHEMA)
    op.drop_index(op.f("ix_brands_user_id"), table_name="brands", schema=SCHEMA)
    op.drop_table("brands", schema=SCHEMA)
    op.drop_index("uq_users_email_lower", table_name="users", schema=SCHEMA)
    op.drop_table("users", schema=SCHEMA)
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        schema=SCHEMA,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox", schema=SCHEMA)
