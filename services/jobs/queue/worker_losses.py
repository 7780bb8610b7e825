"""A job whose worker or work horse died is run again, not failed: a lost worker is the
infrastructure's failure, not the job's.

Every way a loss is noticed ends here: RQ's abandoned-job handling (its failure callback, run by the
reconciler's sweep), and the reconciler finding a processing row that no live worker runs (a work
horse killed while its worker lived, or a job Redis forgot). The row goes back to pending with the
loss counted, and the reconciler's next pass puts its RQ job back on the queue, for any worker, in
place (so a composite waiting on this step through RQ depends_on still follows it). After
JOB_MAX_WORKER_LOSSES re-runs the next loss fails the job (a generation step: the generation fails
and is refunded). A step whose generation has ended meanwhile (cancelled, or failed by another step)
is not run again: it ends cancelled.

Synchronous: the failure callback runs in RQ's code, and the reconciler calls it in a thread.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from services.common.db import table_of
from services.jobs import failures
from services.jobs.models import ACTIVE_GENERATION_STATUSES, Generation, GenerationJob

log = logging.getLogger(__name__)

jobs = table_of(GenerationJob)
generations = table_of(Generation)


class _Any:
    """record()'s default started_at: whatever the row's."""


ANY = _Any()


def record(
    engine: Engine, job_id: str | uuid.UUID, max_losses: int, started_at: datetime | None | _Any = ANY
) -> str | None:
    """The row's new status (pending, failed or cancelled), or None when it was not processing any
    more (or, with started_at, not the same run: a re-run has claimed it since it was read)."""
    job_id = uuid.UUID(str(job_id))
    with engine.begin() as conn:
        row = conn.execute(
            select(jobs.c.status, jobs.c.started_at, jobs.c.worker_losses, jobs.c.name, jobs.c.generation_id)
            .where(jobs.c.id == job_id)
            .with_for_update()
        ).one_or_none()
        if (
            row is None
            or row.status != "processing"
            or (not isinstance(started_at, _Any) and row.started_at != started_at)
        ):
            return None
        losses = row.worker_losses + 1
        active = row.generation_id is None or (
            conn.scalar(select(generations.c.status).where(generations.c.id == row.generation_id))
            in ACTIVE_GENERATION_STATUSES
        )
        values: dict[str, Any]
        if not active:
            values = {
                "status": "cancelled",
                "error_message": "the generation had ended",
                "finished_at": func.now(),
            }
        elif losses <= max_losses:
            values = {"status": "pending", "error_message": None, "started_at": None}
        else:
            values = {
                "status": "failed",
                "error_message": failures.sentence(row.name, failures.worker_lost(losses)),
                "fault": failures.SYSTEM,
                "finished_at": func.now(),
            }
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(worker_losses=losses, **values))
    log.warning(
        "job %s: its worker died (%d time(s); %d re-run(s) allowed) -> %s",
        job_id,
        losses,
        max_losses,
        values["status"],
    )
    return values["status"]
