"""Looking up, listing and deleting stored objects."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.errors import InvalidArgument
from services.media import records
from services.media.keys import ObjectKey, check_prefix, is_prefix_marker
from services.media.records import StoredObject
from services.media.storage import ObjectHead, S3Storage

DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 1000


@dataclass(frozen=True)
class ObjectListing:
    objects: list[StoredObject]
    next_page_token: str | None


async def find(storage: S3Storage, ref: ObjectKey) -> ObjectHead | None:
    return await storage.head(ref.key)


async def delete(storage: S3Storage, engine: AsyncEngine, ref: ObjectKey) -> bool:
    """Remove every version of the key and its row; False when there was nothing to remove.

    S3 goes first: if it fails, the row still describes what is there, and a retry finishes."""
    versions_removed = await storage.delete_all_versions(ref.key)
    row_removed = await records.forget(engine, ref.key)
    return versions_removed > 0 or row_removed


async def list_page(
    storage: S3Storage, engine: AsyncEngine, prefix: str, limit: int, page_token: str
) -> ObjectListing:
    """One page of what S3 holds under prefix, with the details our rows add (type, checksum)."""
    check_prefix(prefix)
    limit = limit or DEFAULT_LIST_LIMIT
    if limit > MAX_LIST_LIMIT:
        raise InvalidArgument(f"limit must be at most {MAX_LIST_LIMIT}, got {limit}")
    page = await storage.list(prefix, limit, page_token or None)
    listed = [o for o in page.objects if not is_prefix_marker(o.key)]
    rows = await records.find_many(engine, [o.key for o in listed])
    objects = []
    for item in listed:
        row = rows.get(item.key)
        if row is not None and row.size == item.size:
            objects.append(row)
        else:
            # Not recorded (or changed behind our back): what S3 says is the truth.
            objects.append(StoredObject(item.key, item.size, "", None, None, item.last_modified))
    return ObjectListing(objects, page.next_token)
