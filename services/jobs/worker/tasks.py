"""What RQ runs, by name (services.jobs.queue.rq_jobs): `run_job(job_id)` claims the generation_jobs
row, runs its job type's handler and writes the outcome back; `run_lora_training(lora_id)` runs the
LoRA training job type, whose lora_models row the handler settles itself; `deliver_webhook` and
`render_voice_sample` are one webhook attempt and one voice's sample; `on_job_failure` is the
RQ failure callback that makes the row follow when RQ gives up on a job whose work horse died.

Configuration comes from the environment alone (services.jobs.runtime), so a plain
`rq worker <queue>` can run these too. Status transitions: pending -> processing -> completed |
failed | cancelled, or back to pending when the worker died (services.jobs.queue.worker_losses).
Every write is conditional on the status it expects: a duplicate delivery finds nothing to claim,
and a worker finishing late cannot overwrite what the reconciler decided. A failure is written as
one readable sentence with its fault (services.jobs.failures); the exception itself goes to the log.
"""

from __future__ import annotations

import logging
import time
import uuid

from rq import get_current_job
from rq.exceptions import AbandonedJobError
from sqlalchemy import Row, func, select, update
from sqlalchemy.engine import Engine

from services.common import telemetry
from services.common.db import table_of
from services.jobs import failures
from services.jobs.media_types import Cancelled
from services.jobs.metrics import JOB_SECONDS, JOBS
from services.jobs.models import GenerationJob
from services.jobs.queue import worker_losses
from services.jobs.queue.job_types import JOB_TYPES, LORA_TRAINING, JobContext, JobType
from services.jobs.runtime import runtime
from services.jobs.webhooks import deliver
from services.jobs.worker import voice_samples

log = logging.getLogger(__name__)

jobs = table_of(GenerationJob)


class NoHandler(failures.Failed):
    pass


def run_job(job_id: str) -> dict | None:
    with telemetry.consumer_span("run_job", _enqueuer_trace(), **{"zapcut.job_id": job_id}):
        return _run_job(job_id)


def _enqueuer_trace() -> dict | None:
    """The trace context the job was enqueued with (services.jobs.queue.rq_jobs), if any."""
    job = get_current_job()
    return job.meta.get(telemetry.JOB_TRACE_META) if job is not None else None


def _run_job(job_id: str) -> dict | None:
    rt = runtime()
    row = _claim(rt.engine, job_id)
    if row is None:
        log.info("job %s: nothing to claim (not pending: a duplicate delivery, or already settled)", job_id)
        return None
    log.info("job %s (%s): started", job_id, row.job_type)
    telemetry.name_current_span(f"job {row.job_type}", **{"zapcut.job_type": row.job_type})
    started = time.perf_counter()
    kind = context = None
    params: dict = {}
    try:
        kind = JOB_TYPES.get(row.job_type)
        if kind is None:
            raise NoHandler(f"no handler for job_type {row.job_type!r}")
        params = kind.validate_params(dict(row.input_params or {}))
        context = JobContext(job_id, str(row.ad_project_id), rt)
        try:
            result = kind.run(context, params)
        except Cancelled as exc:
            # Not a failure: the job was asked to stop (its generation was cancelled or failed).
            _settle(rt.engine, job_id, status="cancelled", error_message=str(exc), finished_at=func.now())
            log.info("job %s: cancelled at a checkpoint", job_id)
            _count(row.job_type, "cancelled", started)
            _after(kind, context, params)
            return None
    except Exception as exc:
        _record_failure(rt.engine, job_id, exc)
        _count(row.job_type, "failed", started)
        if kind is not None and context is not None:
            _after(kind, context, params)
        raise
    _count(row.job_type, "completed", started)
    if _settle(rt.engine, job_id, status="completed", result=result, finished_at=func.now()):
        log.info("job %s: completed", job_id)
    else:
        log.warning("job %s: finished, but the row had moved on (settled by the reconciler?)", job_id)
    _after(kind, context, params)
    return result


def _count(job_type: str, outcome: str, started: float) -> None:
    JOBS.labels(job_type, outcome).inc()
    JOB_SECONDS.labels(job_type, outcome).observe(time.perf_counter() - started)


def _after(kind: JobType, context: JobContext, params: dict) -> None:
    try:
        kind.run_after(context, params)
    except Exception:  # noqa: BLE001 - the reconciler settles what this could not
        log.exception("job %s: follow-up after the job failed", context.job_id)


def run_lora_training(lora_id: str) -> None:
    JOB_TYPES[LORA_TRAINING].run(JobContext(lora_id, "", runtime()), {})


def deliver_webhook(delivery_id: str, attempt: int) -> None:
    """One attempt at a webhook delivery; its row is its record (services.jobs.webhooks.deliver)."""
    deliver.deliver(runtime(), delivery_id, attempt)


def render_voice_sample(voice_id: str) -> None:
    """A voice's sample, found missing by the gateway (services.jobs.worker.voice_samples)."""
    voice_samples.render_sample(runtime().calls, voice_id)


def on_job_failure(job, connection, exc_type, exc_value, traceback) -> None:
    """RQ failure callback. When the job itself raised, run_job has written the row already and
    this changes nothing; it matters when the work horse died and RQ swept the job as abandoned:
    then the job runs again (a bounded number of times) instead of failing."""
    try:
        if exc_type is AbandonedJobError or isinstance(exc_value, AbandonedJobError):
            worker_losses.record(runtime().engine, job.id, runtime().settings.job_max_worker_losses)
        else:
            _record_failure(runtime().engine, job.id, exc_value or failures.Failed("the job failed"))
    except Exception:  # the reconciler settles the row later; never mask RQ's own failure handling
        log.exception("job %s: could not record the failure in Postgres", job.id)


NO_JOB = "00000000-0000-0000-0000-000000000000"


def compile_statements(engine: Engine) -> None:
    """Run, in the worker before it forks, the statements every job runs (claim, settle), against an
    id that matches no row: SQLAlchemy caches compiled statements per engine, and a horse starts with
    its parent's cache, so they are compiled once per worker rather than in every job (about 6 ms
    each, measured in a horse on this machine)."""
    _claim(engine, NO_JOB)
    _settle(engine, NO_JOB, status="completed", result=None, finished_at=func.now())


def _claim(engine: Engine, job_id: str) -> Row | None:
    with engine.begin() as conn:
        return conn.execute(
            update(jobs)
            .where(jobs.c.id == uuid.UUID(job_id), jobs.c.status == "pending")
            .values(
                status="processing", started_at=func.now(), finished_at=None, error_message=None, fault=None
            )
            .returning(jobs.c.id, jobs.c.ad_project_id, jobs.c.job_type, jobs.c.input_params)
        ).one_or_none()


def _record_failure(engine: Engine, job_id: str, exc: BaseException) -> None:
    failure = failures.explain(exc)
    with engine.begin() as conn:
        name = conn.scalar(
            select(jobs.c.name)
            .where(jobs.c.id == uuid.UUID(job_id), jobs.c.status == "processing")
            .with_for_update()
        )
        message = failures.sentence(name, failure.clause)
        settled = conn.execute(
            update(jobs)
            .where(jobs.c.id == uuid.UUID(job_id), jobs.c.status == "processing")
            .values(status="failed", error_message=message, fault=failure.fault, finished_at=func.now())
        ).rowcount
    if settled:
        # The exception's own type and text (a gRPC debug string, say) go to the log, not the row.
        log.warning(
            "job %s: %s (%s: %s)",
            job_id,
            message,
            type(exc).__name__,
            exc,
            exc_info=exc if not failure.expected else None,
        )


def _settle(engine: Engine, job_id: str, **values) -> bool:
    with engine.begin() as conn:
        result = conn.execute(
            update(jobs).where(jobs.c.id == uuid.UUID(job_id), jobs.c.status == "processing").values(**values)
        )
        return result.rowcount == 1
