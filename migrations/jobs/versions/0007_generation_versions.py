"""generations.revises_id, root_id and version: a scene made again is a new version

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:15:00.000000

Regenerating one scene of a completed generation makes a new generation that revises it (only that
scene and the composite are rendered again; the other steps' files are the earlier version's).
Existing generations are version 1 of their own line.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "jobs"


def upgrade() -> None:
    op.add_column("generations", sa.Column("revises_id", sa.UUID(), nullable=True), schema=SCHEMA)
    op.add_column("generations", sa.Column("root_id", sa.UUID(), nullable=True), schema=SCHEMA)
    op.add_column(
        "generations", sa.Column("version", sa.Integer(), server_default="1", nullable=False), schema=SCHEMA
    )
    op.create_index(op.f("ix_generations_root_id"), "generations", ["root_id"], unique=False, schema=SCHEMA)


def downgrade() -> None:
    op.drop_index(op.f("ix_generations_root_id"), table_name="generations", schema=SCHEMA)
    op.drop_column("generations", "version", schema=SCHEMA)
    op.drop_column("generations", "root_id", schema=SCHEMA)
    op.drop_column("generations", "revises_id", schema=SCHEMA)
