"""a brand's logo and audio files; a project's voice and music settings

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "accounts"
PROJECT_SETTINGS = {
    "voice": sa.String(length=40),
    "language": sa.String(length=20),
    "speaking_rate": sa.Float(),
    "music_mood": sa.String(length=20),
    "music_tempo_bpm": sa.Integer(),
    "music_track_key": sa.Text(),
}


def upgrade() -> None:
    op.add_column(
        "brands", sa.Column("logo", postgresql.JSONB(astext_type=sa.Text()), nullable=True), schema=SCHEMA
    )
    op.add_column(
        "brands",
        sa.Column(
            "audio_files",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        schema=SCHEMA,
    )
    for name, type_ in PROJECT_SETTINGS.items():
        op.add_column("ad_projects", sa.Column(name, type_, nullable=True), schema=SCHEMA)


def downgrade() -> None:
    for name in reversed(PROJECT_SETTINGS):
        op.drop_column("ad_projects", name, schema=SCHEMA)
    op.drop_column("brands", "audio_files", schema=SCHEMA)
    op.drop_column("brands", "logo", schema=SCHEMA)
