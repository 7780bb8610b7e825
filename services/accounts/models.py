"""The accounts schema. Migrations in migrations/accounts are written from these models; a test
checks the two agree."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import created_at, in_values, schema_metadata, updated_at, uuid_pk
from services.common.outbox import OutboxRow

SCHEMA = "accounts"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


SUBSCRIPTION_TIERS = ("free", "pro", "business")
PROJECT_STATUSES = ("draft", "scripting", "generating", "completed", "failed")
# What a client may set; the others follow the project's generations (their events, from jobs).
CLIENT_PROJECT_STATUSES = ("draft", "scripting")
CHAT_ROLES = ("user", "assistant", "system")
# What a client may post; assistant messages are written by the assistant, system ones by the server.
CLIENT_CHAT_ROLES = ("user",)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(in_values("subscription_tier", SUBSCRIPTION_TIERS), name="subscription_tier"),
        CheckConstraint("credits >= 0", name="credits_non_negative"),
        CheckConstraint("free_videos_used >= 0", name="free_videos_used_non_negative"),
        # Case-insensitive uniqueness; the API also lower-cases emails before storing them.
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    subscription_tier: Mapped[str] = mapped_column(String(20), nullable=False, server_default="free")
    credits: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    free_videos_used: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Session(Base):
    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # SHA-256 hex digest of the bearer token; the token itself is never stored.
    token: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    created_at: Mapped[datetime] = created_at()


class Brand(Base):
    __tablename__ = "brands"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    # The brand's files media stored, in the order the user added them:
    # [{"key", "filename", "content_type", "size", "added_at"}, ...]
    product_images: Mapped[list] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    brand_assets: Mapped[list] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    # One logo at most (a new one replaces it), and the brand's own music tracks; same shape.
    logo: Mapped[dict | None] = mapped_column(JSONB)
    audio_files: Mapped[list] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    brand_guidelines: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class AdProject(Base):
    __tablename__ = "ad_projects"
    __table_args__ = (CheckConstraint(in_values("status", PROJECT_STATUSES), name="status"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    brand_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("brands.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="draft", index=True)
    ad_details: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    # The id of the matching project in the Zapcut editor, once the ad is exported there.
    zapcut_project_id: Mapped[str | None] = mapped_column(String(100))
    # The sequence number of the generation event (jobs' outbox order) that last set `status`; an
    # event that is not newer (redelivered, or late) leaves the status alone. NULL until one did.
    status_sequence: Mapped[int | None] = mapped_column(BigInteger)
    # The voice and music of its ads (services/accounts/project_settings.py); NULL: the default,
    # resolved when read, so a project follows a changed default (and language its voice's).
    voice: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(20))
    speaking_rate: Mapped[float | None] = mapped_column(Float)
    music_mood: Mapped[str | None] = mapped_column(String(20))
    music_tempo_bpm: Mapped[int | None] = mapped_column(Integer)
    # A key of the brand's audio_files; cleared when that file is removed from the brand.
    music_track_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        CheckConstraint(in_values("role", CHAT_ROLES), name="role"),
        Index("ix_chat_messages_ad_project_id_created_at", "ad_project_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # Indexed by ix_chat_messages_ad_project_id_created_at, which also serves the ordered listing.
    ad_project_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ad_projects.id", ondelete="CASCADE"), nullable=False
    )
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at()


class Script(Base):
    __tablename__ = "scripts"

    id: Mapped[uuid.UUID] = uuid_pk()
    ad_project_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("ad_projects.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
        unique=True,
    )
    storyline: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    scenes: Mapped[list] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class OutboxEvent(OutboxRow, Base):
    """accounts' events (deletions, refunds), written in the same transaction as the change they
    describe; services.common.outbox publishes them to the events stream and removes them. Every
    row is one the stream has not accepted yet."""


LEDGER_KINDS = ("grant", "charge", "refund", "renewal")
# What a generation's charge took: a free video (FREE_VIDEOS, an allowance, not money) or a credit.
CHARGE_KINDS = ("free_video", "credit")
# granted_by of the rows the system writes itself.
GRANTED_BY_SIGN_UP = "system:sign-up"
GRANTED_BY_RENEWAL = "system:tier-renewal"


class CreditEntry(Base):
    """One change of a user's credits: a grant by an operator (or the starting credits at sign-up),
    a generation's charge and its refund, a tier's monthly renewal. users.credits is kept equal to
    the sum of `amount` in the same transaction as every row (services/accounts/ledger.py).

    A free video is an allowance, not money: its charge and refund are rows too (amount 0, and
    free_videos +1 / -1, which sum to users.free_videos_used), so the history shows every
    generation paid for and charges need no table of their own."""

    __tablename__ = "credit_ledger"
    __table_args__ = (
        CheckConstraint(in_values("kind", LEDGER_KINDS), name="kind"),
        CheckConstraint("(kind IN ('charge', 'refund')) = (generation_id IS NOT NULL)", name="generation_id"),
        CheckConstraint("(kind = 'renewal') = (period IS NOT NULL)", name="period"),
        CheckConstraint("free_videos BETWEEN -1 AND 1", name="free_videos"),
        # A generation is charged once and refunded once, whatever the retries and redeliveries.
        UniqueConstraint("generation_id", "kind", name="uq_credit_ledger_generation_id_kind"),
        # A tier renews once per user and period, whatever the reruns, restarts and replicas.
        UniqueConstraint("user_id", "period", name="uq_credit_ledger_user_id_period"),
        # Serves the user's history, newest first, and the deletion cascade.
        Index("ix_credit_ledger_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    # Credits added (positive) or taken (negative); 0 for a free video.
    amount: Mapped[int] = mapped_column(Integer, nullable=False)
    # Free videos taken (1) or given back (-1) by a charge or its refund; else 0.
    free_videos: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    # The generation (owned by jobs) a charge or refund is for; no project or brand id is kept.
    generation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The operator who granted (as the admin CLI names them), or system:...; NULL for charges.
    granted_by: Mapped[str | None] = mapped_column(String(200))
    # The renewal's period, "YYYY-MM" (calendar month, UTC).
    period: Mapped[str | None] = mapped_column(String(7))
    balance_after: Mapped[int] = mapped_column(Integer, nullable=False)
    # The time of the insert, not of the transaction's start (now()): rows are written after the
    # user's row lock, so a user's history ordered by created_at is the order the balance moved in.
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp()
    )
