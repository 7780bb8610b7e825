"""Settling a generation from its steps, and telling accounts.

Synchronous (workers are): the workers call it as a step ends (after_step, the steps' after-hook in
the job type registry), and the reconciler (in a thread) for steps that ended another way (a dead
worker, a failed enqueue). Each decision is one transaction on the locked generation row, so the
two never disagree, and the same transaction writes the generation.settled event (with the refund
owed, if any, and the project's new status) into jobs' outbox: accounts learns what happened
whenever it is reachable, and never twice in a way that matters (services.jobs.generation.events).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from services.common.db import table_of
from services.jobs import failures
from services.jobs.generation import events
from services.jobs.models import ACTIVE_GENERATION_STATUSES, Generation, GenerationJob
from services.jobs.queue.job_types import JobContext

log = logging.getLogger(__name__)

generations = table_of(Generation)
steps = table_of(GenerationJob)


def settle(engine: Engine, redis, generation_id: uuid.UUID | str) -> str | None:
    """Bring the generation's status in line with its steps; returns its status."""
    generation_id = uuid.UUID(str(generation_id))
    cancelled_steps: list[str] = []
    with engine.begin() as conn:
        gen = conn.execute(
            select(generations).where(generations.c.id == generation_id).with_for_update()
        ).one_or_none()
        if gen is None:
            return None
        status = gen.status
        if status in ("pending", "processing"):
            rows = conn.execute(
                select(steps.c.id, steps.c.name, steps.c.status, steps.c.error_message, steps.c.fault)
                .where(steps.c.generation_id == generation_id)
                .order_by(steps.c.created_at)
            ).all()
            failed = [r for r in rows if r.status in ("failed", "cancelled")]
            if failed:
                first = next((r for r in failed if r.status == "failed"), failed[0])
                # The step's message names the step already (services.jobs.failures).
                message = first.error_message or f"{failures.label(first.name)} was {first.status}."
                # An unusable input the user gave (a corrupt image) is not refunded.
                users_fault = first.fault == failures.USER
                status = "failed"
                conn.execute(
                    update(generations)
                    .where(generations.c.id == generation_id)
                    .values(status=status, error_message=message, finished_at=func.now())
                )
                conn.execute(_settled(gen, status, refund=gen.charge is not None and not users_fault))
                cancelled_steps = _cancel_waiting_steps(conn, generation_id)
            elif rows and all(r.status == "completed" for r in rows):
                status = "completed"
                conn.execute(
                    update(generations)
                    .where(generations.c.id == generation_id)
                    .values(status=status, finished_at=func.now())
                )
                conn.execute(_settled(gen, status, refund=False))
            elif status == "pending" and any(r.status != "pending" for r in rows):
                status = "processing"
                conn.execute(
                    update(generations).where(generations.c.id == generation_id).values(status=status)
                )
    cancel_rq_jobs(redis, cancelled_steps)
    return status


def _settled(gen, status: str, *, refund: bool):
    return events.settled(
        gen.id,
        gen.user_id,
        gen.ad_project_id,
        status,
        refund=refund,
        project_status=events.PROJECT_STATUS_AFTER[status],
    )


def after_step(ctx: JobContext, params: dict) -> None:
    """Once a step has settled: the generation follows."""
    settle(ctx.runtime.engine, ctx.runtime.redis, params["generation_id"])


def _cancel_waiting_steps(conn, generation_id: uuid.UUID) -> list[str]:
    """Steps that have not started never will: they end cancelled (running ones stop at their next
    checkpoint, since the generation is no longer active)."""
    ids = conn.execute(
        update(steps)
        .where(steps.c.generation_id == generation_id, steps.c.status == "pending")
        .values(status="cancelled", finished_at=func.now())
        .returning(steps.c.id)
    ).scalars()
    return [str(i) for i in ids]


def cancel_rq_jobs(redis, job_ids: list[str]) -> None:
    """Queued or deferred RQ jobs of cancelled steps are removed, so they never start."""
    for job_id in job_ids:
        try:
            job = Job.fetch(job_id, connection=redis)
            if job.get_status() in ("queued", "deferred", "scheduled"):
                job.cancel()
        except NoSuchJobError:
            pass
        except Exception as exc:  # noqa: BLE001 - the row says cancelled; run_job then claims nothing
            log.warning("could not cancel RQ job %s: %s", job_id, exc)


def is_active(engine: Engine, generation_id: uuid.UUID | str) -> bool:
    with engine.connect() as conn:
        status = conn.scalar(
            select(generations.c.status).where(generations.c.id == uuid.UUID(str(generation_id)))
        )
    return status in ACTIVE_GENERATION_STATUSES


def unsettled(engine: Engine) -> list[uuid.UUID]:
    """Active generations with a step that has ended badly or all steps done: settle() decides."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(generations.c.id)
                .where(generations.c.status.in_(("pending", "processing")))
                .where(
                    select(steps.c.id)
                    .where(
                        steps.c.generation_id == generations.c.id, steps.c.status.in_(("failed", "cancelled"))
                    )
                    .exists()
                    | ~select(steps.c.id)
                    .where(steps.c.generation_id == generations.c.id, steps.c.status != "completed")
                    .exists()
                )
            ).scalars()
        )


def fail_interrupted_starts(engine: Engine, older_than_s: float) -> list[uuid.UUID]:
    """Generations stuck in charging (the service died between creating and charging them): failed,
    with whatever was charged owed back (a refund of nothing is nothing). The project never heard of
    them, so its status stays."""
    with engine.begin() as conn:
        failed = conn.execute(
            update(generations)
            .where(
                generations.c.status == "charging",
                generations.c.created_at < func.now() - timedelta(seconds=older_than_s),
            )
            .values(
                status="failed",
                error_message="The generation was interrupted while starting.",
                finished_at=func.now(),
            )
            .returning(generations.c.id, generations.c.user_id, generations.c.ad_project_id)
        ).all()
        for gen in failed:
            conn.execute(
                events.settled(
                    gen.id, gen.user_id, gen.ad_project_id, "failed", refund=True, project_status=None
                )
            )
    return [gen.id for gen in failed]


def reconcile(engine: Engine, redis) -> None:
    """The reconciler's share (in a thread): settle what the workers could not."""
    for generation_id in fail_interrupted_starts(engine, older_than_s=60):
        log.warning("generation %s: interrupted while starting; failed", generation_id)
    for generation_id in unsettled(engine):
        settle(engine, redis, generation_id)
