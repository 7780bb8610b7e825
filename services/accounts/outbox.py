"""Domain events: written into the outbox in the same transaction as the change, then published
to a Redis Stream by the relay, and marked published only after the stream accepted them.

A published row has done its work (the stream holds the event for its consumers), so the relay
purges it OUTBOX_RETENTION_S after publishing: a deletion event names the ids it deleted, and the
outbox must not keep a deleted user's ids forever. Unpublished rows are never purged."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from datetime import timedelta

import redis.asyncio as aioredis
from sqlalchemy import Delete, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.accounts.models import OutboxEvent

# The event types are defined next to the Event their consumers read; accounts records them as outbox.*.
from services.common.events import BRAND_DELETED, PROJECT_DELETED, USER_DELETED  # noqa: F401

log = logging.getLogger(__name__)

RELAY_BATCH = 100
# How often the relay purges published rows past their retention.
PURGE_EVERY_S = 600
# Entries older than this are trimmed from the stream as new ones arrive. A consumer down longer
# than that would miss events; a week is far beyond any outage the services are built to ride out.
STREAM_RETENTION_S = 7 * 24 * 3600


def _oldest_kept_id() -> str:
    return f"{int((time.time() - STREAM_RETENTION_S) * 1000)}-0"


def record_event(session: AsyncSession, event_type: str, aggregate_id: uuid.UUID, payload: dict) -> None:
    session.add(OutboxEvent(event_type=event_type, aggregate_id=aggregate_id, payload=payload))


def past_retention(retention_s: float) -> Delete:
    """Deletes the rows published more than retention_s ago (never an unpublished one)."""
    return delete(OutboxEvent).where(OutboxEvent.published_at < func.now() - timedelta(seconds=retention_s))


async def purge_published(sessions: async_sessionmaker, retention_s: float) -> int:
    async with sessions() as session, session.begin():
        result = await session.execute(past_retention(retention_s))
    return result.rowcount or 0


class OutboxRelay:
    """Publishes unpublished outbox rows to the events stream; safe to run in several replicas
    (rows are claimed with FOR UPDATE SKIP LOCKED)."""

    def __init__(
        self,
        sessions: async_sessionmaker,
        redis: aioredis.Redis,
        stream: str,
        poll_s: float,
        retention_s: float,
    ):
        self.sessions = sessions
        self.redis = redis
        self.stream = stream
        self.poll_s = poll_s
        self.retention_s = retention_s
        self.wakeup = asyncio.Event()
        self._next_purge = 0.0

    def nudge(self) -> None:
        """Publish soon: called right after a transaction that wrote an event commits."""
        self.wakeup.set()

    async def publish_pending(self) -> int:
        async with self.sessions() as session, session.begin():
            rows = (
                (
                    await session.execute(
                        select(OutboxEvent)
                        .where(OutboxEvent.published_at.is_(None))
                        .order_by(OutboxEvent.created_at)
                        .limit(RELAY_BATCH)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            for row in rows:
                # If XADD fails the transaction rolls back and the row stays unpublished for a retry.
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
                await session.execute(
                    update(OutboxEvent).where(OutboxEvent.id == row.id).values(published_at=func.now())
                )
            return len(rows)

    async def purge_when_due(self) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + PURGE_EVERY_S
        if purged := await purge_published(self.sessions, self.retention_s):
            log.info("purged %d published outbox events older than %s s", purged, self.retention_s)

    async def run(self) -> None:
        while True:
            try:
                await self.purge_when_due()
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
