"""generations.captions_key

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 13:00:00.000000

The key of a generation's captions (WebVTT, generated-videos/{project}/{generation}/captions.vtt),
stored by its voiceover step beside the final video. Generations from before have none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "jobs"


def upgrade() -> None:
    op.add_column(
        "generations", sa.Column("captions_key", sa.String(length=1024), nullable=True), schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_column("generations", "captions_key", schema=SCHEMA)
