"""From jobs' own events to deliveries: a generation.settled or lora.completed read from the events
stream (jobs' consumer group) becomes one webhook_deliveries row per enabled endpoint of the user
subscribed to its webhook event.

The events were written into jobs' outbox in the transaction that ended the generation or the
training, so none is lost when a process stops; the stream delivers each at least once, and the
unique (endpoint_id, event_id) makes a second fan-out of the same event add nothing. The rows are
written while the generation (or LoRA) row is held FOR SHARE and only if it still exists: a
project deleted meanwhile (whose deletion locks the rows FOR UPDATE and deletes their deliveries,
services.jobs.api.owners) leaves no delivery naming it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.db import table_of
from services.common.events import GENERATION_SETTLED, LORA_COMPLETED, Event
from services.jobs.models import Generation, LoraModel, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

CONSUMED = frozenset({GENERATION_SETTLED, LORA_COMPLETED})
# A settled generation's status -> its webhook event.
GENERATION_WEBHOOK = {
    "completed": "generation.completed",
    "failed": "generation.failed",
    "cancelled": "generation.cancelled",
}

generations = table_of(Generation)
loras = table_of(LoraModel)
endpoints = table_of(WebhookEndpoint)
deliveries = table_of(WebhookDelivery)


def _iso(moment: datetime | None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")


async def fan_out(engine: AsyncEngine, event: Event) -> int:
    """Deliveries for the event; how many were added (0 for an event already fanned out)."""
    try:
        event_id = uuid.UUID(event.event_id)
        user_id = uuid.UUID(event.payload["user_id"])
    except (KeyError, TypeError, ValueError):
        log.warning("ignoring %s %s: it names no valid user", event.type, event.event_id)
        return 0
    async with engine.begin() as conn:
        if event.type == GENERATION_SETTLED:
            found = await _generation(conn, event)
        else:
            found = await _lora(conn, event)
        if found is None:
            return 0
        webhook_event, data, subject = found
        targets = (
            (
                await conn.execute(
                    select(endpoints.c.id).where(
                        endpoints.c.user_id == user_id,
                        endpoints.c.enabled,
                        endpoints.c.events.any(webhook_event),
                    )
                )
            )
            .scalars()
            .all()
        )
        if not targets:
            return 0
        payload = {"type": webhook_event, "timestamp": data.pop("timestamp"), "data": data}
        added = await conn.execute(
            insert(deliveries)
            .values(
                [
                    {
                        "endpoint_id": target,
                        "event_id": event_id,
                        "event_type": webhook_event,
                        "payload": payload,
                    }
                    | subject
                    for target in targets
                ]
            )
            .on_conflict_do_nothing(constraint="uq_webhook_deliveries_endpoint_event")
        )
    if added.rowcount:
        log.info("%s %s: %d webhook deliveries", webhook_event, event.aggregate_id, added.rowcount)
    return added.rowcount or 0


async def _generation(conn: AsyncConnection, event: Event) -> tuple[str, dict[str, Any], dict] | None:
    webhook_event = GENERATION_WEBHOOK.get(str(event.payload.get("status")))
    if webhook_event is None:
        return None
    gen = (
        await conn.execute(
            select(generations)
            .where(generations.c.id == uuid.UUID(event.aggregate_id))
            .with_for_update(read=True)
        )
    ).one_or_none()
    if gen is None:  # deleted with its project: nothing to tell about
        return None
    data = {
        "timestamp": _iso(gen.finished_at),
        "generation_id": str(gen.id),
        "project_id": str(gen.ad_project_id),
        "status": event.payload["status"],
        "error_message": gen.error_message if event.payload["status"] == "failed" else None,
        "refund": bool(event.payload.get("refund")),
        "finished_at": _iso(gen.finished_at),
    }
    final_key = gen.final_key if event.payload["status"] == "completed" else None
    return webhook_event, data, {"project_id": gen.ad_project_id, "final_key": final_key}


async def _lora(conn: AsyncConnection, event: Event) -> tuple[str, dict[str, Any], dict] | None:
    row = (
        await conn.execute(
            select(loras).where(loras.c.id == uuid.UUID(event.aggregate_id)).with_for_update(read=True)
        )
    ).one_or_none()
    if row is None or row.status != "completed":
        return None
    data = {
        "timestamp": _iso(row.trained_at),
        "lora_id": str(row.id),
        "brand_id": str(row.brand_id),
        "status": row.status,
        "preview_image_url": row.preview_image_url,
        "trained_at": _iso(row.trained_at),
    }
    return "lora.completed", data, {"brand_id": row.brand_id}
