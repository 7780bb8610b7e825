"""What jobs does with the events it consumes (the events stream, consumer group `jobs`):
deletions remove what jobs holds for the deleted owners (owners.py); charge.refunded
records that a generation's charge is back with its user, which is what `refunded` on a
generation says; jobs' own generation.settled and lora.completed become deliveries to the users'
webhook endpoints (services.jobs.webhooks.fanout). All are idempotent: a refund is recorded once,
whatever the redeliveries, a generation deleted meanwhile has nothing to record, and an event is
fanned out to an endpoint once.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import table_of
from services.common.events import CHARGE_REFUNDED, DELETION_EVENTS, Event
from services.jobs.api.owners import delete_owned
from services.jobs.models import Generation
from services.jobs.webhooks import fanout

log = logging.getLogger(__name__)

CONSUMED = DELETION_EVENTS | {CHARGE_REFUNDED} | fanout.CONSUMED
generations = table_of(Generation)


async def handle(engine: AsyncEngine, media, event: Event, on_deliveries=lambda: None) -> None:
    """`on_deliveries` is called after an event added webhook deliveries (to send them at once)."""
    if event.type == CHARGE_REFUNDED:
        await record_refund(engine, event)
    elif event.type in fanout.CONSUMED:
        if await fanout.fan_out(engine, event):
            on_deliveries()
    else:
        await delete_owned(engine, media, event)


async def record_refund(engine: AsyncEngine, event: Event) -> None:
    try:
        generation_id = uuid.UUID(event.payload["generation_id"])
    except (KeyError, TypeError, ValueError):
        log.warning("ignoring %s %s: it names no valid generation", event.type, event.event_id)
        return
    async with engine.begin() as conn:
        recorded = await conn.execute(
            update(generations)
            .where(generations.c.id == generation_id, generations.c.refunded_at.is_(None))
            .values(refunded_at=func.now())
        )
    if recorded.rowcount:
        log.info("generation %s: refunded", generation_id)
