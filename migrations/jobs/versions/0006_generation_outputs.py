"""generation_outputs: every file a generation's steps stored

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 13:00:00.000000

A step may store several files (the composite: the final video, its poster and its preview), so the
files of a generation get a table of their own; generation_jobs.output_url stays the step's main
output. Outputs stored before this revision are copied in from output_url (their kind from the
step's job type), so cancelling and listing treat old and new generations alike; the downgrade
drops the table (output_url still names each step's main file).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "jobs"
KINDS = ("scene_video", "voiceover", "music", "captions", "final_video", "poster", "preview")


def upgrade() -> None:
    op.create_table(
        "generation_outputs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("generation_id", sa.UUID(), nullable=False),
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("aspect", sa.String(length=8), nullable=True),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind IN (" + ", ".join(repr(k) for k in KINDS) + ")", name=op.f("ck_generation_outputs_kind")
        ),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            [f"{SCHEMA}.generations.id"],
            name=op.f("fk_generation_outputs_generation_id_generations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            [f"{SCHEMA}.generation_jobs.id"],
            name=op.f("fk_generation_outputs_job_id_generation_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generation_outputs")),
        sa.UniqueConstraint("key", name=op.f("uq_generation_outputs_key")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_generation_outputs_generation_id"), "generation_outputs", ["generation_id"], schema=SCHEMA
    )
    op.create_index(op.f("ix_generation_outputs_job_id"), "generation_outputs", ["job_id"], schema=SCHEMA)
    op.execute(
        "INSERT INTO jobs.generation_outputs (generation_id, job_id, kind, aspect, key, content_type)"
        " SELECT j.generation_id, j.id,"
        "  CASE j.job_type WHEN 'scene' THEN 'scene_video' WHEN 'composite' THEN 'final_video'"
        "   ELSE j.job_type END,"
        "  CASE WHEN j.job_type IN ('scene', 'composite') THEN g.aspect END,"
        "  j.output_url,"
        "  CASE WHEN j.job_type IN ('scene', 'composite') THEN 'video/mp4' ELSE 'audio/mpeg' END"
        " FROM jobs.generation_jobs j JOIN jobs.generations g ON g.id = j.generation_id"
        " WHERE j.output_url IS NOT NULL AND j.job_type IN ('scene', 'voiceover', 'music', 'composite')"
        " ON CONFLICT (key) DO NOTHING"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_generation_outputs_job_id"), table_name="generation_outputs", schema=SCHEMA)
    op.drop_index(op.f("ix_generation_outputs_generation_id"), table_name="generation_outputs", schema=SCHEMA)
    op.drop_table("generation_outputs", schema=SCHEMA)
