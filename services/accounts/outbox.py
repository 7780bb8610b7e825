"""Domain events: written into the outbox in the same transaction as the change, then published
to a Redis Stream by the relay, and removed from the outbox only after the stream accepted them.

A published row has done its work (the stream holds the event for its consumers), and a deletion
event names the ids it deleted: keeping it would leave a row naming a deleted user behind. So the
relay deletes each row in the transaction that publishes it; a row still in the outbox is one the
stream has not accepted yet."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid

import redis.asyncio as aioredis
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.accounts.models import OutboxEvent

# The event types are defined next to the Event their consumers read; accounts records them as outbox.*.
from services.common.events import BRAND_DELETED, PROJECT_DELETED, USER_DELETED  # noqa: F401

log = logging.getLogger(__name__)

RELAY_BATCH = 100
# Entries older than this are trimmed from the stream as new ones arrive. A consumer down longer
# than that would miss events; a week is far beyond any outage the services are built to ride out.
STREAM_RETENTION_S = 7 * 24 * 3600


def _oldest_kept_id() -> str:
    return f"{int((time.time() - STREAM_RETENTION_S) * 1000)}-0"


def record_event(session: AsyncSession, event_type: str, aggregate_id: uuid.UUID, payload: dict) -> None:
    session.add(OutboxEvent(event_type=event_type, aggregate_id=aggregate_id, payload=payload))


class OutboxRelay:
    """Publishes the outbox's rows to the events stream and removes them; safe to run in several
    replicas (rows are claimed with FOR UPDATE SKIP LOCKED)."""

    def __init__(
        self,
        sessions: async_sessionmaker,
        redis: aioredis.Redis,
        stream: str,
        poll_s: float,
    ):
        self.sessions = sessions
        self.redis = redis
        self.stream = stream
        self.poll_s = poll_s
        self.wakeup = asyncio.Event()

    def nudge(self) -> None:
        """Publish soon: called right after a transaction that wrote an event commits."""
        self.wakeup.set()

    async def publish_pending(self) -> int:
        async with self.sessions() as session, session.begin():
            rows = (
                (
                    await session.execute(
                        select(OutboxEvent)
                        .order_by(OutboxEvent.created_at)
                        .limit(RELAY_BATCH)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            for row in rows:
                # If XADD fails the transaction rolls back and the row stays for a retry.
                await self.redis.xadd(
                    self.stream,
                    minid=_oldest_kept_id(),
                    approximate=True,
                    fields={
                        "event_id": str(row.id),
                        "type": row.event_type,
                        "aggregate_id": str(row.aggregate_id),
                        "payload": json.dumps(row.payload),
                    },
                )
            if rows:
                # In the transaction that published them: a crash before the commit keeps the rows,
                # and the next round publishes them again (consumers are idempotent).
                await session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_([r.id for r in rows])))
            return len(rows)

    async def run(self) -> None:
        while True:
            try:
                published = await self.publish_pending()
                if published:
                    log.info("published %d outbox events to %s", published, self.stream)
                    continue  # there may be more
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis or Postgres down: keep the rows, retry
                log.warning("outbox relay: %s: %s (will retry)", type(exc).__name__, exc)
            try:
                await asyncio.wait_for(self.wakeup.wait(), self.poll_s)
            except TimeoutError:
                pass
            self.wakeup.clear()
