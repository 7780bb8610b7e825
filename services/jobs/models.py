"""The jobs schema. The generation_jobs row is the source of truth for a job; its id is the RQ job id."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import created_at, in_values, schema_metadata, updated_at, uuid_pk
from services.common.outbox import OutboxRow

SCHEMA = "jobs"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


JOB_STATUSES = ("pending", "processing", "completed", "failed", "cancelled")
JOB_TYPES = ("diagnostic", "scene", "voiceover", "music", "composite")
LORA_STATUSES = ("pending", "training", "completed", "failed")
# charging: created, the user's charge not yet confirmed; rejected: nothing to pay with (terminal).
GENERATION_STATUSES = ("charging", "pending", "processing", "completed", "failed", "cancelled", "rejected")
ACTIVE_GENERATION_STATUSES = ("charging", "pending", "processing")
ASPECTS = ("9:16", "16:9", "1:1")
CHARGES = ("free_video", "credit")
# What a generation's steps store: the files of its history (generation_outputs.kind).
OUTPUT_KINDS = ("scene_video", "voiceover", "music", "captions", "final_video", "poster", "preview")
# Whose fault a failed job is: the user's (a corrupt product image: not refunded) or not.
FAULTS = ("user", "system")


class Generation(Base):
    """One press of "generate": the plan (a snapshot of the script and inputs) and its outcome."""

    __tablename__ = "generations"
    __table_args__ = (
        CheckConstraint(in_values("status", GENERATION_STATUSES), name="status"),
        CheckConstraint(in_values("aspect", ASPECTS), name="aspect"),
        CheckConstraint("charge IS NULL OR " + in_values("charge", CHARGES), name="charge"),
        CheckConstraint("resolution BETWEEN 144 AND 2160", name="resolution"),
        # At most one generation running per project: the database settles a race between two starts.
        Index(
            "uq_generations_active_project",
            "ad_project_id",
            unique=True,
            postgresql_where=text("status IN ('charging', 'pending', 'processing')"),
        ),
        # A retried request (same Idempotency-Key) finds the generation it started.
        Index(
            "uq_generations_user_idempotency_key",
            "user_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index("ix_generations_ad_project_id_created_at", "ad_project_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # Owned by accounts; no foreign keys across the service boundary.
    ad_project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="charging", index=True)
    aspect: Mapped[str] = mapped_column(String(8), nullable=False)
    resolution: Mapped[int] = mapped_column(Integer, nullable=False)
    provider: Mapped[str] = mapped_column(String(30), nullable=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # What the steps render, fixed when the generation starts: scenes, image keys, sizes, timeline.
    plan: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    charge: Mapped[str | None] = mapped_column(String(20))
    # When accounts gave the charge back, as its charge.refunded event says (the refund itself is
    # owed through this generation's generation.settled event).
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    final_key: Mapped[str | None] = mapped_column(String(1024))
    error_message: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A scene made again makes a new version of a generation (services.jobs.generation.regenerate):
    # the generation it revises, the first of the line (counting the line's free versions), and its
    # number in the line (1 for a generation started from the script).
    revises_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    root_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class GenerationJob(Base):
    __tablename__ = "generation_jobs"
    __table_args__ = (
        CheckConstraint(in_values("status", JOB_STATUSES), name="status"),
        CheckConstraint(in_values("job_type", JOB_TYPES), name="job_type"),
        # The reconciler's scan: pending rows waiting to be (re-)enqueued, oldest first.
        Index("ix_generation_jobs_pending", "created_at", postgresql_where=text("status = 'pending'")),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        CheckConstraint("fault IS NULL OR " + in_values("fault", FAULTS), name="fault"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # Owned by accounts; no foreign key across the service boundary.
    ad_project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    job_type: Mapped[str] = mapped_column(String(30), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending", index=True)
    replicate_job_id: Mapped[str | None] = mapped_column(String(100))
    input_params: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    result: Mapped[dict | None] = mapped_column(JSONB)
    output_url: Mapped[str | None] = mapped_column(String(1024))
    # One readable sentence for the user; technical detail goes to the logs.
    error_message: Mapped[str | None] = mapped_column(Text)
    # Set with a failure: "user" or "system" (decides a generation's refund, never the message).
    fault: Mapped[str | None] = mapped_column(String(10))
    # How many times a worker died while running this job; it runs again up to JOB_MAX_WORKER_LOSSES.
    worker_losses: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Generation steps: the generation they belong to, and how far along they are.
    generation_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("generations.id", ondelete="CASCADE"), index=True
    )
    # scene_1 ... scene_n, voiceover, music, composite; another placement's scene_1-16x9, composite-16x9
    name: Mapped[str | None] = mapped_column(String(30))
    progress: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    stage: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    provider: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class GenerationOutput(Base):
    """A file a generation's step stored, one row each (a step may store several: the composite
    stores the final video, its poster and its preview). Cancelling a generation deletes exactly
    these; the API hands out a presigned URL for each."""

    __tablename__ = "generation_outputs"
    __table_args__ = (CheckConstraint(in_values("kind", OUTPUT_KINDS), name="kind"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    generation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("generations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    job_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("generation_jobs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    # The placement it is for (9:16, 1:1, 16:9); null for what every placement shares (the audio).
    aspect: Mapped[str | None] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(1024), nullable=False, unique=True)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = created_at()


class LoraModel(Base):
    __tablename__ = "lora_models"
    __table_args__ = (CheckConstraint(in_values("status", LORA_STATUSES), name="status"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    brand_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    # Who started the training, for lora.completed webhooks; null on rows from before webhooks.
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending", index=True)
    model_url: Mapped[str | None] = mapped_column(String(1024))
    preview_image_url: Mapped[str | None] = mapped_column(String(1024))
    training_job_id: Mapped[str | None] = mapped_column(String(100))
    user_approved: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    error_message: Mapped[str | None] = mapped_column(Text)
    trained_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class OutboxEvent(OutboxRow, Base):
    """jobs' events for accounts (generation.started, generation.settled; the latter, and
    lora.completed, also for jobs' own webhooks), written in the same transaction as the
    generation's (or LoRA's) change; services.common.outbox publishes them to the events
    stream and removes them. No foreign key to generations: an event outlives its generation's row
    (deleted with its project) until it is published."""


WEBHOOK_EVENTS = ("generation.completed", "generation.failed", "generation.cancelled", "lora.completed")
# pending: to be (re)tried at next_attempt_at; delivered: a 2xx came back; failed: given up.
DELIVERY_STATUSES = ("pending", "delivered", "failed")


class WebhookEndpoint(Base):
    """A URL of a user's that receives signed events (services.jobs.webhooks)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    # Owned by accounts; no foreign key across the service boundary (user.deleted removes these).
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    events: Mapped[list[str]] = mapped_column(ARRAY(String(50)), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False, server_default="")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    # The signing secret, encrypted (Fernet, key derived from SECRET_KEY): a dump of the database
    # does not hand out the keys that sign what the users' servers trust.
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class WebhookDelivery(Base):
    """One event for one endpoint; its id is the `webhook-id` header, the same on every attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(in_values("status", DELIVERY_STATUSES), name="status"),
        # The fan-out of one event to one endpoint happens once, however often the event arrives.
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        # The dispatcher's scan: what is due next.
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index("ix_webhook_deliveries_endpoint_id_created_at", "endpoint_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    # The events-stream event it came from (its outbox row's id).
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    event_type: Mapped[str] = mapped_column(String(50), nullable=False)
    # {type, timestamp, data}; the final video's URL is signed at each attempt, from final_key.
    payload: Mapped[dict] = mapped_column(JSONB, nullable=False)
    final_key: Mapped[str | None] = mapped_column(String(1024))
    # What the event is about, so deleting a project or a brand deletes its deliveries.
    project_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    brand_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The last few attempts, newest first: [{at, status_code, error, duration_ms}].
    recent_attempts: Mapped[list] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
