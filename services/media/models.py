"""The media schema: one row per stored object."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import created_at, schema_metadata, updated_at, uuid_pk

SCHEMA = "media"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class MediaObject(Base):
    __tablename__ = "media_objects"
    __table_args__ = (CheckConstraint("size >= 0", name="size_non_negative"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    key: Mapped[str] = mapped_column(String(1024), nullable=False, unique=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    content_type: Mapped[str] = mapped_column(String(255), nullable=False)
    # Hex SHA-256 of the bytes when they passed through media; NULL for presigned uploads.
    checksum_sha256: Mapped[str | None] = mapped_column(String(64))
    version_id: Mapped[str | None] = mapped_column(String(1024))
    # Owners across the service boundary: plain indexed ids, no foreign keys (DESIGN.md section 1).
    brand_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    ad_project_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
