"""The one way a service tells the others what happened: an event row written into its own
`outbox` table in the same transaction as the change, then published to the events stream
(EVENTS_STREAM) by the relay, and removed from the outbox only after the stream accepted it.

accounts and jobs each own an `outbox` table of this shape in their schema (OutboxRow), created by
their own migrations. Either both the change and its event commit, or neither; a service down, or
Redis down, delays an event and never loses it. Consumers read the stream with
services.common.events.EventConsumer.

A published row has done its work (the stream holds the event for its consumers), and an event may
name a user who is deleted next: keeping it would leave a row naming a deleted user behind. So the
relay deletes each row in the transaction that publishes it; a row still in an outbox is one the
stream has not accepted yet.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import BigInteger, Identity, Index, String, Table, delete, insert, select, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.sql.dml import Insert

from services.common.db import created_at, uuid_pk

log = logging.getLogger(__name__)

RELAY_BATCH = 100
# Entries older than this are trimmed from the stream as new ones arrive. A consumer down longer
# than that would miss events; a week is far beyond any outage the services are built to ride out.
STREAM_RETENTION_S = 7 * 24 * 3600


class OutboxRow:
    """The columns of every service's outbox table (mixed into the service's declarative base)."""

    __tablename__ = "outbox"

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index]:  # noqa: N805 - a declared_attr takes the class
        return (Index("ix_outbox_sequence", "sequence"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    aggregate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    # The order the rows were written in, from one Postgres sequence: a row inserted after another
    # (a later step of the same story) has a larger number, whatever the clocks say. The relay
    # publishes in this order and passes it on, so a consumer can tell a late event from a new one.
    sequence: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    created_at: Mapped[datetime] = created_at()


def new_event(
    table: Table, event_type: str, aggregate_id: uuid.UUID | str, payload: dict[str, Any]
) -> Insert:
    """The INSERT of one event into `table` (a service's outbox), to execute in the transaction of the
    change it reports, on whatever connection that transaction uses (sync or asyncio)."""
    return insert(table).values(
        event_type=event_type, aggregate_id=uuid.UUID(str(aggregate_id)), payload=payload
    )


def _oldest_kept_id() -> str:
    return f"{int((time.time() - STREAM_RETENTION_S) * 1000)}-0"


class OutboxRelay:
    """Publishes an outbox's rows to the events stream and removes them; safe to run in several
    replicas (rows are claimed with FOR UPDATE SKIP LOCKED)."""

    def __init__(self, engine: AsyncEngine, redis: aioredis.Redis, table: Table, stream: str, poll_s: float):
        self.engine = engine
        self.redis = redis
        self.table = table
        self.stream = stream
        self.poll_s = poll_s
        self.wakeup = asyncio.Event()

    def nudge(self) -> None:
        """Publish soon: called right after a transaction that wrote an event commits."""
        self.wakeup.set()

    async def publish_pending(self) -> int:
        t = self.table
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(t).order_by(t.c.sequence).limit(RELAY_BATCH).with_for_update(skip_locked=True)
                )
            ).all()
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
                        "sequence": str(row.sequence),
                        "payload": json.dumps(row.payload),
                    },
                )
            if rows:
                # In the transaction that published them: a crash before the commit keeps the rows,
                # and the next round publishes them again (consumers are idempotent).
                await conn.execute(delete(t).where(t.c.id.in_([r.id for r in rows])))
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
