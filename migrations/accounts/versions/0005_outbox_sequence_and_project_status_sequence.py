"""outbox.sequence, the shared outbox shape; ad_projects.status_sequence

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 10:00:00.000000

accounts and jobs now publish through one relay (services.common.outbox) over outbox tables of one
shape, which numbers its rows in the order they were written (`sequence`, an identity column) and
publishes in that order. A project's status now follows its generations' events from jobs;
`status_sequence` is the number of the event that last set it, so a late or repeated event cannot
set it back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "accounts"


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("sequence", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        schema=SCHEMA,
    )
    op.drop_index("ix_outbox_created_at", table_name="outbox", schema=SCHEMA)
    op.create_index("ix_outbox_sequence", "outbox", ["sequence"], unique=False, schema=SCHEMA)
    op.add_column("ad_projects", sa.Column("status_sequence", sa.BigInteger(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("ad_projects", "status_sequence", schema=SCHEMA)
    op.drop_index("ix_outbox_sequence", table_name="outbox", schema=SCHEMA)
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"], unique=False, schema=SCHEMA)
    op.drop_column("outbox", "sequence", schema=SCHEMA)
