"""generation_jobs: fault and worker_losses

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "jobs"


def upgrade() -> None:
    op.add_column("generation_jobs", sa.Column("fault", sa.String(length=10), nullable=True), schema=SCHEMA)
    op.add_column(
        "generation_jobs",
        sa.Column("worker_losses", sa.Integer(), server_default="0", nullable=False),
        schema=SCHEMA,
    )
    op.create_check_constraint(
        op.f("ck_generation_jobs_fault"),
        "generation_jobs",
        "fault IS NULL OR fault IN ('user', 'system')",
        schema=SCHEMA,
    )
    # Rows failed before this revision said whose fault it was only in their message.
    op.execute(
        "UPDATE jobs.generation_jobs SET fault = CASE WHEN starts_with(error_message, 'InputError:')"
        " THEN 'user' ELSE 'system' END WHERE status = 'failed'"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_generation_jobs_fault"), "generation_jobs", schema=SCHEMA, type_="check")
    op.drop_column("generation_jobs", "worker_losses", schema=SCHEMA)
    op.drop_column("generation_jobs", "fault", schema=SCHEMA)
