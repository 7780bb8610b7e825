"""Presigned URLs: clients move large files straight to and from S3.

Uploads are PUT to a staging key (keys.staging), never to the key a brand lists; confirm checks what
arrived there (HEAD, then its first bytes) and copies exactly that version to the file's key, which
no client can write. Downloads are signed for the version and type media recorded."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.file_signatures import CHECKED_TYPES, SIGNATURE_BYTES, looks_like
from services.common.logo import MAX_LOGO_BYTES, SVG, logo_problem
from services.media import keys, records
from services.media.keys import ObjectKey
from services.media.records import StoredObject
from services.media.storage import GetUrl, S3Storage
from services.media.uploads import check_content_type

log = logging.getLogger(__name__)

DEFAULT_DOWNLOAD_EXPIRY_S = 3600
DEFAULT_UPLOAD_EXPIRY_S = 900
MAX_EXPIRY_S = 7 * 24 * 3600  # the longest SigV4 allows
MAX_COPY_BYTES = 5 * 1024**3  # the largest object S3 copies in one CopyObject
LOGO_CHECK = "logo"  # ConfirmUploadRequest.check: read the whole file and check it as a logo


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


@dataclass(frozen=True)
class Confirmed:
    stored: StoredObject
    stored_now: bool  # False: the file was recorded already (a confirm repeated)


def _expiry(expires_in_s: int, default_s: int) -> int:
    expires = expires_in_s or default_s
    if expires > MAX_EXPIRY_S:
        raise InvalidArgument(f"expires_in_s must be at most {MAX_EXPIRY_S} (7 days), got {expires_in_s}")
    return expires


# --- downloads ---------------------------------------------------------------------------------


def _shown_inline(content_type: str) -> bool:
    # SVG is an image that can carry scripts: never rendered from our URLs, only saved.
    main = content_type.split(";")[0].strip().lower()
    return main.startswith("video/") or (main.startswith("image/") and main != "image/svg+xml")


def _get_url(key: str, row: StoredObject | None) -> GetUrl:
    """A GET of what media recorded under key: that version, with the recorded type, saved
    rather than shown unless it is an image or a video. S3 sends these headers whatever the
    object's own metadata says; it cannot add others (X-Content-Type-Options among them)."""
    name = key.rsplit("/", 1)[-1]
    attachment = f'attachment; filename="{name}"'  # names in the layout need no quoting
    if row is None:  # stored without a row (none should be): nothing vouches for its type
        return GetUrl(key, content_disposition=attachment)
    return GetUrl(
        key,
        version_id=row.version_id,
        content_type=row.content_type,
        content_disposition=None if _shown_inline(row.content_type) else attachment,
    )


async def presign_download(
    storage: S3Storage, engine: AsyncEngine, ref: ObjectKey, expires_in_s: int
) -> PresignedDownload:
    expires = _expiry(expires_in_s, DEFAULT_DOWNLOAD_EXPIRY_S)
    if await storage.head(ref.key) is None:
        raise NotFound(f"no object {ref.key}")
    row = (await records.find_many(engine, [ref.key])).get(ref.key)
    (url,) = await storage.presign_gets([_get_url(ref.key, row)], expires)
    return PresignedDownload(url, datetime.now(UTC) + timedelta(seconds=expires))


async def presign_downloads(
    storage: S3Storage, engine: AsyncEngine, refs: list[ObjectKey], expires_in_s: int
) -> list[PresignedDownload]:
    """Signing is local computation: a page of objects costs one query for their rows and no
    round trip to S3."""
    expires = _expiry(expires_in_s, DEFAULT_DOWNLOAD_EXPIRY_S)
    expires_at = datetime.now(UTC) + timedelta(seconds=expires)
    if not refs:
        return []
    rows = await records.find_many(engine, list({ref.key for ref in refs}))
    urls = await storage.presign_gets([_get_url(ref.key, rows.get(ref.key)) for ref in refs], expires)
    return [PresignedDownload(url, expires_at) for url in urls]


# --- uploads -----------------------------------------------------------------------------------


async def presign_upload(
    storage: S3Storage, ref: ObjectKey, content_type: str, size: int, max_size: int, expires_in_s: int
) -> PresignedPut:
    """A PUT URL for ref's staging key, signed with the content type and exact size; `key` in the
    answer is ref's own key, where the file is once confirmed."""
    staging = keys.staging(ref)
    content_type = _checkable(content_type)
    if max_size <= 0:
        raise InvalidArgument("max_size is required: the largest size allowed for this kind of object")
    if max_size > MAX_COPY_BYTES:
        raise InvalidArgument(f"max_size must be at most {MAX_COPY_BYTES} bytes (5 GiB)")
    if not 1 <= size <= max_size:
        raise InvalidArgument(f"size must be between 1 and {max_size} bytes, got {size}")
    expires = _expiry(expires_in_s, DEFAULT_UPLOAD_EXPIRY_S)
    url = await storage.presign_put(staging.key, content_type, size, expires)
    headers = {"Content-Type": content_type, "Content-Length": str(size)}
    return PresignedPut(url, "PUT", headers, ref.key, datetime.now(UTC) + timedelta(seconds=expires))


async def confirm_upload(
    storage: S3Storage, engine: AsyncEngine, ref: ObjectKey, content_type: str, size: int, check: str = ""
) -> Confirmed:
    """Record the file a client PUT to ref's staging key, if it is what was announced: the size and
    type S3 reports, and first bytes that are that type. Exactly the version checked is copied to
    ref's key, then the staging upload is removed. A refused upload is removed too (every version
    of that staging key, nothing else); ref's own key is never written or removed here except by
    that copy, so a confirm can't replace or delete a file confirmed before."""
    staging = keys.staging(ref)
    content_type = _checkable(content_type)
    if size <= 0:
        raise InvalidArgument("size is required: the number of bytes the client uploaded")
    if check not in ("", LOGO_CHECK):
        raise InvalidArgument(f"check must be empty or {LOGO_CHECK!r}")
    if check == LOGO_CHECK and size > MAX_LOGO_BYTES:
        raise InvalidArgument(f"a logo may be at most {MAX_LOGO_BYTES} bytes")
    if content_type == SVG and check != LOGO_CHECK:
        # Its first bytes vouch for nothing: an SVG is taken only with the logo's whole-file check.
        raise InvalidArgument("an SVG is taken only as a logo (check 'logo')")

    recorded = (await records.find_many(engine, [ref.key])).get(ref.key)
    if recorded is not None:
        if not _as_announced(recorded, content_type, size):
            raise FailedPrecondition(f"{ref.key} holds another file already; nothing was changed")
        # Confirmed before (a retry): the file stays as checked then. Anything PUT since is dropped.
        await _discard(storage, staging.key)
        return Confirmed(recorded, stored_now=False)

    try:
        version_id = await _copy_if_valid(storage, staging.key, ref.key, content_type, size, check)
    except NotFound:
        # A confirm of the same upload running alongside may have finished first, removing the
        # staging upload as this one read it: then the file is recorded, as announced.
        recorded = (await records.find_many(engine, [ref.key])).get(ref.key)
        if recorded is None or not _as_announced(recorded, content_type, size):
            raise
        return Confirmed(recorded, stored_now=False)
    try:
        stored = await records.record(
            engine, ref, size=size, content_type=content_type, checksum_sha256=None, version_id=version_id
        )
    except BaseException:
        # No row describes the copy: remove it (the staging upload stays, so a retry can finish).
        log.warning("recording %s failed; removing the copy just made", ref.key)
        try:
            await storage.delete_version(ref.key, version_id)
        except Exception:  # noqa: BLE001 - the recording failure is the error to report
            log.warning("could not remove %s version %s after a failed recording", ref.key, version_id)
        raise
    await _discard(storage, staging.key)
    return Confirmed(stored, stored_now=True)


async def _copy_if_valid(
    storage: S3Storage, staging_key: str, key: str, content_type: str, size: int, check: str
) -> str | None:
    """Check the staging upload and copy the version checked to key (its new version id); or
    remove the staging upload and say what is wrong with it."""
    head = await storage.head(staging_key)
    if head is None:
        raise NotFound(f"no upload for {key}: PUT the file to the presigned URL first")
    problems = []
    if head.size != size:
        problems.append(f"size is {head.size} bytes, expected {size}")
    if head.content_type.strip().lower() != content_type:
        problems.append(f"content type is {head.content_type!r}, expected {content_type!r}")
    if problems:
        await storage.delete_all_versions(staging_key)
        log.info("confirm %s: removed a mismatching upload (%s)", key, "; ".join(problems))
        raise FailedPrecondition(f"the upload for {key} was removed: {'; '.join(problems)}")
    first = await storage.read_start(
        staging_key, head.version_id, size if check == LOGO_CHECK else SIGNATURE_BYTES
    )
    if not looks_like(content_type, first):
        await storage.delete_all_versions(staging_key)
        log.info("confirm %s: removed an upload whose content is not %s", key, content_type)
        raise InvalidArgument(f"the file's content is not {content_type}")
    if check == LOGO_CHECK and (problem := logo_problem(content_type, first)) is not None:
        await storage.delete_all_versions(staging_key)
        log.info("confirm %s: removed an upload that is no logo (%s)", key, problem)
        raise InvalidArgument(problem)
    # That version, not the key's current one: a PUT since the checks doesn't get copied.
    return await storage.copy(staging_key, head.version_id, key, content_type)


def _as_announced(recorded: StoredObject, content_type: str, size: int) -> bool:
    return recorded.size == size and recorded.content_type == content_type


def _checkable(content_type: str) -> str:
    """The bare media type, if it is one whose first bytes media can check."""
    check_content_type(content_type)
    bare = content_type.split(";")[0].strip().lower()
    if bare not in CHECKED_TYPES:
        allowed = ", ".join(sorted(CHECKED_TYPES))
        raise InvalidArgument(f"presigned uploads take only types whose content media checks: {allowed}")
    return bare


async def _discard(storage: S3Storage, staging_key: str) -> None:
    """Remove a staging upload that has served its purpose. If S3 fails now, the bucket's
    lifecycle rule removes it within a day: not worth failing a confirm that succeeded."""
    try:
        await storage.delete_all_versions(staging_key)
    except Exception:  # noqa: BLE001 - logged; the lifecycle rule is the backstop
        log.warning("could not remove the staging upload %s; it expires within a day", staging_key)
