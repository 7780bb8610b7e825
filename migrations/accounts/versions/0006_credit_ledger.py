"""credit_ledger: every grant, charge, refund and renewal; charges moved into it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:10:00.000000

The ledger records what charges recorded (a generation's charge, and its refund as refunded_at),
so charges is moved into it and dropped rather than kept as a second record of the same fact. Each
user whose balance the moved rows do not explain (starting credits, credits set by hand) gets an
opening row first, so that sum(amount) equals users.credits from the start. The downgrade rebuilds
charges from the ledger's charge and refund rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "accounts"


def upgrade() -> None:
    op.create_table(
        "credit_ledger",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("free_videos", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("generation_id", sa.UUID(), nullable=True),
        sa.Column("granted_by", sa.String(length=200), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('grant', 'charge', 'refund', 'renewal')", name=op.f("ck_credit_ledger_kind")
        ),
        sa.CheckConstraint(
            "(kind IN ('charge', 'refund')) = (generation_id IS NOT NULL)",
            name=op.f("ck_credit_ledger_generation_id"),
        ),
        sa.CheckConstraint("(kind = 'renewal') = (period IS NOT NULL)", name=op.f("ck_credit_ledger_period")),
        sa.CheckConstraint("free_videos BETWEEN -1 AND 1", name=op.f("ck_credit_ledger_free_videos")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["accounts.users.id"],
            name=op.f("fk_credit_ledger_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_ledger")),
        sa.UniqueConstraint("generation_id", "kind", name="uq_credit_ledger_generation_id_kind"),
        sa.UniqueConstraint("user_id", "period", name="uq_credit_ledger_user_id_period"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_credit_ledger_user_id_created_at",
        "credit_ledger",
        ["user_id", "created_at"],
        unique=False,
        schema=SCHEMA,
    )
    # The charges and their refunds, as ledger rows (balance_after filled in below).
    op.execute(
        """
        INSERT INTO accounts.credit_ledger
            (user_id, kind, amount, free_videos, reason, generation_id, balance_after, created_at)
        SELECT user_id, 'charge', CASE kind WHEN 'credit' THEN -1 ELSE 0 END,
               CASE kind WHEN 'free_video' THEN 1 ELSE 0 END,
               CASE kind WHEN 'credit' THEN 'generation' ELSE 'generation (free video)' END,
               generation_id, 0, created_at
        FROM accounts.charges
        UNION ALL
        SELECT user_id, 'refund', CASE kind WHEN 'credit' THEN 1 ELSE 0 END,
               CASE kind WHEN 'free_video' THEN -1 ELSE 0 END,
               'refund: the generation did not complete', generation_id, 0, refunded_at
        FROM accounts.charges WHERE refunded_at IS NOT NULL
        """
    )
    # An opening row for the credits the moved rows do not explain, before them all.
    op.execute(
        """
        INSERT INTO accounts.credit_ledger
            (user_id, kind, amount, reason, granted_by, balance_after, created_at)
        SELECT u.id, 'grant', u.credits - coalesce(sum(l.amount), 0),
               'opening balance (credits before the ledger)', 'system:migration', 0,
               least(u.created_at, min(l.created_at)) - interval '1 microsecond'
        FROM accounts.users u LEFT JOIN accounts.credit_ledger l ON l.user_id = u.id
        GROUP BY u.id
        HAVING u.credits - coalesce(sum(l.amount), 0) <> 0
        """
    )
    op.execute(
        """
        UPDATE accounts.credit_ledger l SET balance_after = running.balance
        FROM (
            SELECT id, sum(amount) OVER (PARTITION BY user_id ORDER BY created_at, id) AS balance
            FROM accounts.credit_ledger
        ) running
        WHERE running.id = l.id
        """
    )
    op.drop_index("ix_charges_user_id", table_name="charges", schema=SCHEMA)
    op.drop_table("charges", schema=SCHEMA)


def downgrade() -> None:
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
    op.execute(
        """
        INSERT INTO accounts.charges (user_id, generation_id, kind, created_at, refunded_at)
        SELECT c.user_id, c.generation_id, CASE c.free_videos WHEN 1 THEN 'free_video' ELSE 'credit' END,
               c.created_at, r.created_at
        FROM accounts.credit_ledger c
        LEFT JOIN accounts.credit_ledger r ON r.generation_id = c.generation_id AND r.kind = 'refund'
        WHERE c.kind = 'charge'
        """
    )
    op.drop_index("ix_credit_ledger_user_id_created_at", table_name="credit_ledger", schema=SCHEMA)
    op.drop_table("credit_ledger", schema=SCHEMA)
