"""Keeps RQ in step with the generation_jobs rows, every RECONCILE_INTERVAL_S, inside the jobs service.

Each tick, under a Postgres advisory lock so that one replica reconciles at a time:
1. RQ's abandoned-job handling, run now: executions whose worker has missed its heartbeats are
   failed in RQ, and their on_failure callback puts the row back to pending (services.jobs.queue.
   worker_losses). RQ itself only sweeps every 600 s, and only 60 s after the last heartbeat.
2. Pending rows older than ENQUEUE_GRACE_S whose RQ job is missing (Redis was down at CreateJob, or
   lost its data) or ended (its worker died) are enqueued; a failed RQ job is requeued as it is.
3. Processing rows that no live worker is running (a work horse killed while its worker lived) go
   the same way: back to pending to run again, up to JOB_MAX_WORKER_LOSSES times, then failed.
4. Generations follow their steps (a failed step fails the generation and cancels the rest), and
   starts interrupted before the charge are failed; either writes its generation.settled event for
   accounts in the same transaction (services.jobs.generation.outcome).
A tick that cannot reach Postgres or Redis logs and tries again next tick.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from datetime import datetime

from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.jobs.config import Settings
from services.jobs.generation import outcome
from services.jobs.lora import api as lora
from services.jobs.queue import job_records, job_types, rq_jobs, worker_losses

log = logging.getLogger(__name__)

LOCK_ID = int.from_bytes(hashlib.sha256(b"zapcut-jobs-reconciler").digest()[:8], "big", signed=True)
PAGE = 200


class Reconciler:
    def __init__(self, engine: AsyncEngine, redis: Redis, settings: Settings, sync_engine):
        self.engine = engine
        # Lost workers and generations are handled with the same (synchronous) code the workers use.
        self.sync_engine = sync_engine
        self.redis = redis
        self.settings = settings
        self.queue = rq_jobs.queue(redis, settings)
        # Where the scan of pending rows resumes, so a backlog bigger than a page is covered in turn.
        self._pending_cursor: tuple[datetime, uuid.UUID] | None = None
        self._failing = False

    async def run_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a dependency is down: say so once, then retry
                if not self._failing:
                    reason = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
                    log.warning("reconciler: tick failed (%s); retrying every tick", reason)
                    self._failing = True
                else:
                    log.debug("reconciler: tick failed again", exc_info=True)
            else:
                if self._failing:
                    log.info("reconciler: working again")
                    self._failing = False
            await asyncio.sleep(self.settings.reconcile_interval_s)

    async def tick(self) -> bool:
        """One pass; False when another replica holds the lock."""
        async with self.engine.connect() as lock_conn:
            # Transaction-scoped: released when this connection's transaction ends, whatever happens.
            if not await lock_conn.scalar(select(func.pg_try_advisory_xact_lock(LOCK_ID))):
                return False
            await asyncio.to_thread(rq_jobs.sweep_abandoned, self.queue, self.settings.worker_lost_after_s)
            await self._enqueue_waiting()
            await self._settle_orphans()
            await self._enqueue_lost_trainings()
            await asyncio.to_thread(outcome.reconcile, self.sync_engine, self.redis)
            await lock_conn.rollback()
        return True

    async def _enqueue_waiting(self) -> None:
        rows = await job_records.pending_page(
            self.engine, self.settings.enqueue_grace_s, self._pending_cursor, PAGE
        )
        self._pending_cursor = (rows[-1].created_at, rows[-1].id) if len(rows) == PAGE else None
        if not rows:
            return
        wanted = [(str(r.id), job_types.job_timeout_s(self.settings, r.job_type)) for r in rows]
        enqueued = await asyncio.to_thread(
            rq_jobs.enqueue_missing, self.queue, wanted, self.settings.rq_failure_ttl_s
        )
        if enqueued:
            log.info(
                "reconciler: enqueued %d pending job(s) whose RQ job was missing or ended: %s",
                len(enqueued),
                enqueued,
            )

    async def _enqueue_lost_trainings(self) -> None:
        lost = await lora.lost_trainings(self.engine, self.settings.worker_lost_after_s)
        if lost and (
            enqueued := await asyncio.to_thread(lora.enqueue_missing, self.queue, self.settings, lost)
        ):
            log.warning("reconciler: re-enqueued LoRA trainings whose job was lost: %s", enqueued)

    async def _settle_orphans(self) -> None:
        rows = await job_records.processing(self.engine, limit=1000)
        if not rows:
            return
        lost = await asyncio.to_thread(
            rq_jobs.orphaned, self.redis, [str(r.id) for r in rows], self.settings.worker_lost_after_s
        )
        started = {str(r.id): r.started_at for r in rows}
        for job_id in lost:
            await asyncio.to_thread(
                worker_losses.record,
                self.sync_engine,
                job_id,
                self.settings.job_max_worker_losses,
                started[job_id],
            )
