"""media_objects rows: one per stored key, written after S3 has the bytes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.errors import Unavailable
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


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """A database that cannot be reached is UNAVAILABLE to the caller, not an internal error."""
    try:
        yield
    except (OperationalError, InterfaceError, PoolTimeout) as exc:
        log.warning("database unavailable: %s", str(exc).splitlines()[0][:300])
        raise Unavailable("database unavailable") from None
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable("database unavailable") from None
        raise


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
    with _database_errors():
        async with engine.begin() as conn:
            created_at = (await conn.execute(statement)).scalar_one()
    return StoredObject(ref.key, size, content_type, checksum_sha256, version_id, created_at)


async def find_many(engine: AsyncEngine, keys: list[str]) -> dict[str, StoredObject]:
    if not keys:
        return {}
    statement = select(MediaObject).where(MediaObject.key.in_(keys))
    with _database_errors():
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
    with _database_errors():
        async with engine.begin() as conn:
            result = await conn.execute(delete(MediaObject).where(MediaObject.key == key))
    return result.rowcount > 0
