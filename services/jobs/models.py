"""The jobs schema. The generation_jobs row is the source of truth for a job; its id is the RQ job id."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import created_at, in_values, schema_base, updated_at, uuid_pk

SCHEMA = "jobs"
Base = schema_base(SCHEMA)

JOB_STATUSES = ("pending", "processing", "completed", "failed", "cancelled")
JOB_TYPES = ("diagnostic", "scene", "voiceover", "music", "composite")
LORA_STATUSES = ("pending", "training", "completed", "failed")


class GenerationJob(Base):
    __tablename__ = "generation_jobs"
    __table_args__ = (
        CheckConstraint(in_values("status", JOB_STATUSES), name="status"),
        CheckConstraint(in_values("job_type", JOB_TYPES), name="job_type"),
        # The reconciler's scan: pending rows waiting to be (re-)enqueued, oldest first.
        Index("ix_generation_jobs_pending", "created_at", postgresql_where=text("status = 'pending'")),
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
    error_message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class LoraModel(Base):
    __tablename__ = "lora_models"
    __table_args__ = (CheckConstraint(in_values("status", LORA_STATUSES), name="status"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    brand_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending", index=True)
    model_url: Mapped[str | None] = mapped_column(String(1024))
    preview_image_url: Mapped[str | None] = mapped_column(String(1024))
    training_job_id: Mapped[str | None] = mapped_column(String(100))
    user_approved: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    error_message: Mapped[str | None] = mapped_column(Text)
    trained_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
