"""Every read and write of a user's record goes through here: the record if the user owns it;
anyone else's is NOT_FOUND, exactly like a record that doesn't exist."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.models import AdProject, Brand
from services.common.errors import NotFound

# The records a user owns directly; the others are reached through these.
M = TypeVar("M", Brand, AdProject)


async def owned(
    session: AsyncSession,
    model: type[M],
    what: str,
    user_id: uuid.UUID,
    record_id: uuid.UUID,
    *,
    lock: bool = False,
) -> M:
    """`lock` takes the row for update (the caller is about to change it)."""
    query = select(model).where(model.id == record_id, model.user_id == user_id)
    if lock:
        query = query.with_for_update()
    record = (await session.execute(query)).scalar_one_or_none()
    if record is None:
        raise NotFound(f"{what} not found")
    return record
