"""media_objects rows: one per stored key, written after S3 has the bytes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.media.keys import ObjectKey
from services.media.models import MediaObject

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    content_type: str
    checksum_sha256: str | None
    version_id: str | None
    created_at: datetime


async def record(
    engine: AsyncEngine,
    ref: ObjectKey,
    *,
    size: int,
    content_type: str,
    checksum_sha256: str | None,
    version_id: str | None,
) -> StoredObject:
    """Insert the row for ref.key, or replace what it says (a new version of the same key)."""
    values = {
        "size": size,
        "content_type": content_type,
        "checksum_sha256": checksum_sha256,
        "version_id": version_id,
        "brand_id": ref.brand_id,
        "ad_project_id": ref.ad_project_id,
    }
    statement = (
        insert(MediaObject)
        .values(key=ref.key, **values)
        .on_conflict_do_update(index_elements=[MediaObject.key], set_=values)
        .returning(MediaObject.created_at)
    )
    async with engine.begin() as conn:
        created_at = (await conn.execute(statement)).scalar_one()
    return StoredObject(ref.key, size, content_type, checksum_sha256, version_id, created_at)


async def find_many(engine: AsyncEngine, keys: list[str]) -> dict[str, StoredObject]:
    if not keys:
        return {}
    statement = select(MediaObject).where(MediaObject.key.in_(keys))
    async with engine.connect() as conn:
        rows = (await conn.execute(statement)).all()
    return {
        row.key: StoredObject(
            row.key, row.size, row.content_type, row.checksum_sha256, row.version_id, row.created_at
        )
        for row in rows
    }


async def forget(engine: AsyncEngine, key: str) -> bool:
    """Delete the row of `key`; whether there was one."""
    async with engine.begin() as conn:
        result = await conn.execute(delete(MediaObject).where(MediaObject.key == key))
    return result.rowcount > 0


async def forget_owned(engine: AsyncEngine, brand_ids: list, project_ids: list) -> int:
    """Delete the rows of objects owned by these brands or projects; how many went."""
    if not brand_ids and not project_ids:
        return 0
    statement = delete(MediaObject).where(
        or_(MediaObject.brand_id.in_(brand_ids), MediaObject.ad_project_id.in_(project_ids))
    )
    async with engine.begin() as conn:
        result = await conn.execute(statement)
    return result.rowcount
