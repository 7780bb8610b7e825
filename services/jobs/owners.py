"""Removing the jobs and LoRA models of brands and projects that accounts deleted (deletion events).

A queued RQ job whose row is gone finds nothing to claim when it runs, so only the rows go here."""

from __future__ import annotations

import logging

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.events import Event, uuids
from services.jobs.models import GenerationJob, LoraModel

log = logging.getLogger(__name__)


async def delete_owned(engine: AsyncEngine, event: Event) -> None:
    """Idempotent: a second delivery deletes nothing and succeeds."""
    project_ids, brand_ids = uuids(event.project_ids), uuids(event.brand_ids)
    async with engine.begin() as conn:
        jobs = await conn.execute(delete(GenerationJob).where(GenerationJob.ad_project_id.in_(project_ids)))
        loras = await conn.execute(delete(LoraModel).where(LoraModel.brand_id.in_(brand_ids)))
    log.info(
        "%s %s: removed %d jobs and %d LoRA models",
        event.type,
        event.aggregate_id,
        jobs.rowcount,
        loras.rowcount,
    )
