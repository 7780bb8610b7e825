"""The jobs service's side of sending webhooks: every WEBHOOK_DISPATCH_INTERVAL_S (and at once after
a fan-out added deliveries) it enqueues an RQ job for the next attempt of every delivery that is
due, which a worker runs (services.jobs.webhooks.deliver).

The delivery row is the truth and RQ only carries the work, as for generation steps: an attempt's
job id names the delivery and the attempt number (`webhook-<id>-<n>`) and is enqueued with
`unique`, so replicas of the service, or rounds of this loop, never queue one attempt twice; a
row whose attempt job ended without settling it (its worker was killed) is due again once its lease
runs out, and gets a new job. Retries wait in the row (next_attempt_at), not in Redis, so nothing
is lost with a worker, the scheduler or Redis: a worker killed mid-backoff, or all of them, delays
a delivery and never drops it.
"""

from __future__ import annotations

import asyncio
import logging

from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import table_of
from services.jobs.config import Settings
from services.jobs.models import WebhookDelivery
from services.jobs.queue import rq_jobs
from services.jobs.webhooks.backoff import lease_s

log = logging.getLogger(__name__)

deliveries = table_of(WebhookDelivery)
BATCH = 200


class Dispatcher:
    def __init__(self, engine: AsyncEngine, redis: Redis, settings: Settings):
        self.engine = engine
        self.queue = rq_jobs.queue(redis, settings)
        self.settings = settings
        self.wakeup = asyncio.Event()
        # RQ's hard limit on one attempt: beyond the sender's own timeouts, so it never cuts one short.
        self.job_timeout_s = int(lease_s(settings.webhook_timeout_s))

    def nudge(self) -> None:
        self.wakeup.set()

    async def dispatch_due(self) -> int:
        async with self.engine.connect() as conn:
            due = (
                await conn.execute(
                    select(deliveries.c.id, deliveries.c.attempts)
                    .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= func.now())
                    .order_by(deliveries.c.next_attempt_at)
                    .limit(BATCH)
                )
            ).all()
        if not due:
            return 0
        enqueued = await asyncio.to_thread(
            rq_jobs.enqueue_webhook_attempts,
            self.queue,
            [(str(d.id), d.attempts) for d in due],
            self.job_timeout_s,
        )
        return len(enqueued)

    async def run(self) -> None:
        while True:
            try:
                if enqueued := await self.dispatch_due():
                    log.info("enqueued %d webhook delivery attempts", enqueued)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Postgres or Redis down: the rows wait, retry
                log.warning("webhook dispatch: %s: %s (will retry)", type(exc).__name__, exc)
            try:
                await asyncio.wait_for(self.wakeup.wait(), self.settings.webhook_dispatch_interval_s)
            except TimeoutError:
                pass
            self.wakeup.clear()
