"""jobs.outbox replaces generations.refund_due and project_status_due

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 10:00:00.000000

jobs tells accounts what its generations did the way accounts tells the others about deletions: an
event in its own outbox (services.common.outbox), written in the transaction of the change and
published to the events stream, instead of calls recorded as due and retried. What was still due
when this revision runs becomes events, oldest first, so nothing owed is lost: a start whose
project was never told becomes generation.started, anything else generation.settled with the refund
and the project status it owed. refunded_at stays; accounts' charge.refunded event now sets it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "jobs"


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
        sa.Column("sequence", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        schema=SCHEMA,
    )
    op.create_index("ix_outbox_sequence", "outbox", ["sequence"], unique=False, schema=SCHEMA)
    op.execute(
        "INSERT INTO jobs.outbox (event_type, aggregate_id, payload)"
        " SELECT CASE WHEN project_status_due = 'generating' THEN 'generation.started'"
        "  ELSE 'generation.settled' END, id,"
        " jsonb_build_object('generation_id', id::text, 'user_id', user_id::text,"
        "  'project_id', ad_project_id::text, 'project_status', project_status_due)"
        " || CASE WHEN project_status_due = 'generating' THEN '{}'::jsonb"
        "  ELSE jsonb_build_object('status', status, 'refund', refund_due AND refunded_at IS NULL) END"
        " FROM jobs.generations"
        " WHERE (refund_due AND refunded_at IS NULL) OR project_status_due IS NOT NULL"
        " ORDER BY created_at"
    )
    op.drop_column("generations", "refund_due", schema=SCHEMA)
    op.drop_column("generations", "project_status_due", schema=SCHEMA)


def downgrade() -> None:
    op.add_column(
        "generations",
        sa.Column("refund_due", sa.Boolean(), server_default="false", nullable=False),
        schema=SCHEMA,
    )
    op.add_column(
        "generations", sa.Column("project_status_due", sa.String(length=20), nullable=True), schema=SCHEMA
    )
    # Events not published yet go back to being calls due, so nothing owed is lost either way.
    op.execute(
        "UPDATE jobs.generations g SET refund_due = true FROM jobs.outbox o"
        " WHERE o.aggregate_id = g.id AND o.event_type = 'generation.settled'"
        " AND (o.payload->>'refund')::boolean"
    )
    op.execute(
        "UPDATE jobs.generations g SET project_status_due = latest.status FROM ("
        " SELECT DISTINCT ON (aggregate_id) aggregate_id, payload->>'project_status' AS status"
        " FROM jobs.outbox WHERE event_type LIKE 'generation.%' AND payload->>'project_status' IS NOT NULL"
        " ORDER BY aggregate_id, sequence DESC) latest WHERE latest.aggregate_id = g.id"
    )
    op.drop_index("ix_outbox_sequence", table_name="outbox", schema=SCHEMA)
    op.drop_table("outbox", schema=SCHEMA)
