"""Removing everything stored for brands and projects that accounts deleted (the deletion events)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.events import Event, uuids
from services.media import keys, records
from services.media.storage import S3Storage

log = logging.getLogger(__name__)


def owner_prefixes(brand_ids: list[str], project_ids: list[str]) -> list[str]:
    """The folders a brand or project owns under the key layout."""
    prefixes = []
    for brand_id in uuids(brand_ids):
        brand_files = [f"{keys.PRODUCT_IMAGES}{brand_id}/", f"{keys.BRAND_ASSETS}{brand_id}/"]
        # With the uploads still in staging (PUT, not confirmed): keys.staging of each.
        prefixes += brand_files + [f"{keys.INCOMING}{prefix}" for prefix in brand_files]
    for project_id in uuids(project_ids):
        prefixes += [f"{p}{project_id}/" for p in (keys.FINAL_VIDEOS, keys.SCENE_VIDEOS, keys.AUDIO)]
    return prefixes


async def delete_owned(storage: S3Storage, engine: AsyncEngine, event: Event) -> None:
    """Idempotent: a second delivery finds nothing left and succeeds."""
    removed = 0
    for prefix in owner_prefixes(event.brand_ids, event.project_ids):
        removed += await storage.delete_everything_under(prefix)
    rows = await records.forget_owned(engine, uuids(event.brand_ids), uuids(event.project_ids))
    log.info("%s %s: removed %d object versions and %d rows", event.type, event.aggregate_id, removed, rows)
