"""Uploads whose bytes pass through media: streamed to S3 part by part, never held whole."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.errors import InvalidArgument
from services.media import records
from services.media.keys import ObjectKey
from services.media.records import StoredObject
from services.media.storage import S3Storage

log = logging.getLogger(__name__)

_MEDIA_TYPE_PART = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*"
_CONTENT_TYPE = re.compile(rf"{_MEDIA_TYPE_PART}/{_MEDIA_TYPE_PART}(\s*;\s*[\x20-\x7e]*)?")
MAX_CONTENT_TYPE_LENGTH = 255  # the media_objects column
MAX_PARTS = 10_000  # S3's limit per multipart upload


def check_content_type(content_type: str) -> str:
    if not content_type:
        raise InvalidArgument("content_type is required (for example video/mp4)")
    if len(content_type) > MAX_CONTENT_TYPE_LENGTH or not _CONTENT_TYPE.fullmatch(content_type):
        raise InvalidArgument("content_type must be a media type such as video/mp4 or image/png")
    return content_type


@dataclass(frozen=True)
class UploadHeader:
    ref: ObjectKey
    content_type: str
    expected_size: int | None  # None: whatever arrives


async def upload_stream(
    storage: S3Storage,
    engine: AsyncEngine,
    header: UploadHeader,
    chunks: AsyncIterator[bytes],
    part_bytes: int,
) -> StoredObject:
    """Store the chunks under header.ref: one PUT when they fit in one part, else a multipart upload
    that is aborted on any failure. Nothing is stored unless every byte (and only those expected)
    arrived; the row is written last."""
    key, content_type, expected = header.ref.key, header.content_type, header.expected_size
    digest = hashlib.sha256()
    buffer = bytearray()
    size = 0
    upload_id: str | None = None
    pending: list[str] = []  # the id of a multipart upload whose start a cancellation interrupted
    parts: list[dict] = []
    try:
        async for chunk in chunks:
            size += len(chunk)
            if expected is not None and size > expected:
                raise InvalidArgument(f"more than expected_size ({expected}) bytes arrived; nothing stored")
            digest.update(chunk)
            buffer += chunk
            while len(buffer) >= part_bytes:
                if len(parts) == MAX_PARTS:
                    raise InvalidArgument(
                        f"objects streamed through media are limited to {MAX_PARTS * part_bytes} bytes"
                    )
                if upload_id is None:
                    upload_id = await _start_multipart(storage, key, content_type, pending)
                parts.append(
                    await storage.upload_part(key, upload_id, len(parts) + 1, _take(buffer, part_bytes))
                )
        if expected is not None and size != expected:
            raise InvalidArgument(f"expected_size is {expected} bytes but {size} arrived; nothing stored")
        if upload_id is None:
            version_id = await _write_or_undo(storage, key, storage.put(key, bytes(buffer), content_type))
        else:
            if buffer:
                parts.append(
                    await storage.upload_part(key, upload_id, len(parts) + 1, _take(buffer, len(buffer)))
                )
            version_id = await _write_or_undo(storage, key, storage.complete_multipart(key, upload_id, parts))
    except BaseException:  # also a client that went away mid-stream (CancelledError)
        upload_id = upload_id or (pending[0] if pending else None)
        if upload_id is not None:
            # Shielded: a cancelled call may be cancelled again while it cleans up; the abort
            # must still reach S3.
            await asyncio.shield(storage.abort_multipart(key, upload_id))
        raise

    try:
        return await records.record(
            engine,
            header.ref,
            size=size,
            content_type=content_type,
            checksum_sha256=digest.hexdigest(),
            version_id=version_id,
        )
    except BaseException:
        # No row describes these bytes: remove the version just written so S3 and the table agree
        # (an earlier version, if any, becomes current again and still matches its row).
        log.warning("recording %s failed; removing the version just stored", key)
        try:
            await storage.delete_version(key, version_id)
        except Exception:  # noqa: BLE001 - the recording failure is the error to report
            log.warning("could not remove %s version %s after a failed recording", key, version_id)
        raise


async def _write_or_undo(storage: S3Storage, key: str, write: Coroutine[Any, Any, str | None]) -> str | None:
    """The write that makes an upload visible, undone if the call is cancelled meanwhile.

    gRPC (grpc.aio) reports a client that cancels a stream as an ordinary end of that stream, and the
    cancellation itself a moment later: typically while this write is in flight, in a thread that
    can't be interrupted. Letting it finish and then removing its version keeps a torso out of S3."""
    task = asyncio.ensure_future(write)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        try:
            await storage.delete_version(key, await task)
            log.info("upload of %s was cancelled while being stored; removed it", key)
        except Exception:  # noqa: BLE001 - the cancellation is what the caller must see
            log.warning("upload of %s was cancelled while being stored; could not remove it", key)
        raise


async def _start_multipart(storage: S3Storage, key: str, content_type: str, pending: list[str]) -> str:
    """Start a multipart upload; if the call is cancelled meanwhile, still learn its id (into
    `pending`) so the caller can abort it, instead of leaving an upload S3 keeps for 7 days."""
    task = asyncio.ensure_future(storage.start_multipart(key, content_type))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):  # it did not start: nothing to abort
            pending.append(await task)
        raise


def _take(buffer: bytearray, n: int) -> bytes:
    """The first n bytes of buffer, removed from it (one copy, no intermediate bytearray)."""
    with memoryview(buffer) as view:
        part = bytes(view[:n])
    del buffer[:n]
    return part
