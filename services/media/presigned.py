"""Presigned URLs: clients move large files straight to and from S3; media checks what arrived
(HEAD) before it records anything."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.media import records
from services.media.keys import ObjectKey
from services.media.records import StoredObject
from services.media.storage import S3Storage
from services.media.uploads import check_content_type

log = logging.getLogger(__name__)

DEFAULT_DOWNLOAD_EXPIRY_S = 3600
DEFAULT_UPLOAD_EXPIRY_S = 900
MAX_EXPIRY_S = 7 * 24 * 3600  # the longest SigV4 allows


@dataclass(frozen=True)
class PresignedDownload:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class PresignedPut:
    url: str
    method: str
    headers: dict[str, str]
    key: str
    expires_at: datetime


def _expiry(expires_in_s: int, default_s: int) -> int:
    expires = expires_in_s or default_s
    if expires > MAX_EXPIRY_S:
        raise InvalidArgument(f"expires_in_s must be at most {MAX_EXPIRY_S} (7 days), got {expires_in_s}")
    return expires


async def presign_download(storage: S3Storage, ref: ObjectKey, expires_in_s: int) -> PresignedDownload:
    expires = _expiry(expires_in_s, DEFAULT_DOWNLOAD_EXPIRY_S)
    if await storage.head(ref.key) is None:
        raise NotFound(f"no object {ref.key}")
    url = await storage.presign_get(ref.key, expires)
    return PresignedDownload(url, datetime.now(UTC) + timedelta(seconds=expires))


async def presign_downloads(
    storage: S3Storage, refs: list[ObjectKey], expires_in_s: int
) -> list[PresignedDownload]:
    """Signing is local computation, so a page of objects costs no round trip to S3."""
    expires = _expiry(expires_in_s, DEFAULT_DOWNLOAD_EXPIRY_S)
    expires_at = datetime.now(UTC) + timedelta(seconds=expires)
    return [PresignedDownload(await storage.presign_get(ref.key, expires), expires_at) for ref in refs]


async def presign_upload(
    storage: S3Storage, ref: ObjectKey, content_type: str, size: int, max_size: int, expires_in_s: int
) -> PresignedPut:
    check_content_type(content_type)
    if max_size <= 0:
        raise InvalidArgument("max_size is required: the largest size allowed for this kind of object")
    if not 1 <= size <= max_size:
        raise InvalidArgument(f"size must be between 1 and {max_size} bytes, got {size}")
    expires = _expiry(expires_in_s, DEFAULT_UPLOAD_EXPIRY_S)
    url = await storage.presign_put(ref.key, content_type, size, expires)
    headers = {"Content-Type": content_type, "Content-Length": str(size)}
    return PresignedPut(url, "PUT", headers, ref.key, datetime.now(UTC) + timedelta(seconds=expires))


async def confirm_upload(
    storage: S3Storage, engine: AsyncEngine, ref: ObjectKey, content_type: str, size: int
) -> StoredObject:
    """Record an object a client PUT through a presigned URL, if it is what was announced.

    An object that differs is deleted (that version only: an earlier good one stays current)."""
    check_content_type(content_type)
    if size <= 0:
        raise InvalidArgument("size is required: the number of bytes the client uploaded")
    head = await storage.head(ref.key)
    if head is None:
        raise NotFound(f"no object {ref.key}: upload it to the presigned URL first")
    problems = []
    if head.size != size:
        problems.append(f"size is {head.size} bytes, expected {size}")
    if head.content_type.strip().lower() != content_type.strip().lower():
        problems.append(f"content type is {head.content_type!r}, expected {content_type!r}")
    if problems:
        await storage.delete_version(ref.key, head.version_id)
        log.info("confirm %s: removed a mismatching upload (%s)", ref.key, "; ".join(problems))
        raise FailedPrecondition(f"uploaded object {ref.key} was removed: {'; '.join(problems)}")
    existing = (await records.find_many(engine, [ref.key])).get(ref.key)
    if existing is not None and head.version_id is not None and existing.version_id == head.version_id:
        return existing  # confirmed again: keep the row (and a checksum it may hold)
    return await records.record(
        engine,
        ref,
        size=head.size,
        content_type=head.content_type,
        checksum_sha256=None,
        version_id=head.version_id,
    )
