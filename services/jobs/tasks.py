"""What an RQ worker runs: `run_job(job_id)` claims the generation_jobs row, runs its job type's
handler and writes the outcome back; `on_job_failure` is the RQ failure callback that makes the row
follow when RQ gives up on a job whose work horse died.

Configuration comes from the environment alone, so a plain `rq worker <queue>` can run these too.
Status transitions: pending -> processing -> completed | failed (or back to pending when RQ will
retry the job). Every write is conditional on the status it expects: a duplicate delivery finds
nothing to claim, and a worker finishing late cannot overwrite what the reconciler decided.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from dataclasses import dataclass

from redis import Redis
from rq import get_current_job
from rq.exceptions import AbandonedJobError
from sqlalchemy import Row, func, update
from sqlalchemy.engine import Engine

from services.common.db import create_sync_db
from services.common.settings import load_settings
from services.jobs import rq_jobs
from services.jobs.config import Settings
from services.jobs.job_types import JOB_TYPES, JobContext
from services.jobs.models import GenerationJob
from services.jobs.providers.base import Cancelled

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 2000
jobs = GenerationJob.__table__


class NoHandler(Exception):
    pass


@dataclass
class _Runtime:
    pid: int
    settings: Settings
    engine: Engine
    redis: Redis


_runtime: _Runtime | None = None
_runtime_lock = threading.Lock()


def runtime() -> _Runtime:
    """Settings and connections, made once per process. A forked work horse must not use the
    sockets of its parent's pool, so a new process builds its own."""
    global _runtime
    with _runtime_lock:
        if _runtime is None or _runtime.pid != os.getpid():
            if _runtime is not None:
                _runtime.engine.dispose(close=False)  # the parent's connections stay the parent's
            settings = load_settings(Settings)
            engine = create_sync_db(
                settings.database_url.get_secret_value(), settings.db_pool_size, settings.db_max_overflow
            )
            _runtime = _Runtime(os.getpid(), settings, engine, rq_jobs.connect(settings))
        return _runtime


def run_job(job_id: str) -> dict | None:
    rt = runtime()
    row = _claim(rt.engine, job_id)
    if row is None:
        log.info("job %s: nothing to claim (not pending: a duplicate delivery, or already settled)", job_id)
        return None
    log.info("job %s (%s): started", job_id, row.job_type)
    kind = context = None
    params: dict = {}
    try:
        kind = JOB_TYPES.get(row.job_type)
        if kind is None:
            raise NoHandler(f"no handler for job_type {row.job_type!r}")
        params = kind.validate_params(dict(row.input_params or {}))
        context = JobContext(job_id, str(row.ad_project_id), rt.engine, rt.redis)
        try:
            result = kind.run(context, params)
        except Cancelled as exc:
            # Not a failure: the job was asked to stop (its generation was cancelled or failed).
            _settle(rt.engine, job_id, status="cancelled", error_message=str(exc), finished_at=func.now())
            log.info("job %s: cancelled at a checkpoint", job_id)
            _after(kind, context, params)
            return None
    except Exception as exc:
        _record_failure(rt.engine, job_id, describe(exc), will_retry=_will_retry())
        if kind is not None and context is not None:
            _after(kind, context, params)
        raise
    if _settle(rt.engine, job_id, status="completed", result=result, finished_at=func.now()):
        log.info("job %s: completed", job_id)
    else:
        log.warning("job %s: finished, but the row had moved on (settled by the reconciler?)", job_id)
    _after(kind, context, params)
    return result


def _after(kind, context: JobContext, params: dict) -> None:
    if kind.after is None:
        return
    try:
        kind.after(context, params)
    except Exception:  # noqa: BLE001 - the reconciler settles what this could not
        log.exception("job %s: follow-up after the job failed", context.job_id)


def on_job_failure(job, connection, exc_type, exc_value, traceback) -> None:
    """RQ failure callback. When the job itself raised, run_job has written the row already and
    this changes nothing; it matters when the work horse died and RQ swept the job as abandoned."""
    if exc_type is AbandonedJobError or isinstance(exc_value, AbandonedJobError):
        message = rq_jobs.WORKER_DIED
    else:
        message = describe(exc_value) if exc_value is not None else "job failed"
    try:
        _record_failure(runtime().engine, job.id, message, will_retry=job.should_retry)
    except Exception:  # the reconciler settles the row later; never mask RQ's own failure handling
        log.exception("job %s: could not record the failure in Postgres", job.id)


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _will_retry() -> bool:
    job = get_current_job()
    return job is not None and job.should_retry


def _claim(engine: Engine, job_id: str) -> Row | None:
    with engine.begin() as conn:
        return conn.execute(
            update(jobs)
            .where(jobs.c.id == uuid.UUID(job_id), jobs.c.status == "pending")
            .values(status="processing", started_at=func.now(), finished_at=None, error_message=None)
            .returning(jobs.c.id, jobs.c.ad_project_id, jobs.c.job_type, jobs.c.input_params)
        ).one_or_none()


def _record_failure(engine: Engine, job_id: str, message: str, *, will_retry: bool) -> None:
    if will_retry:
        # Back to pending, so the retry RQ has scheduled can claim the row again.
        settled = _settle(engine, job_id, status="pending", error_message=message, started_at=None)
    else:
        settled = _settle(engine, job_id, status="failed", error_message=message, finished_at=func.now())
    if settled:
        log.warning("job %s: %s (%s)", job_id, "will retry" if will_retry else "failed", message)


def _settle(engine: Engine, job_id: str, **values) -> bool:
    with engine.begin() as conn:
        result = conn.execute(
            update(jobs).where(jobs.c.id == uuid.UUID(job_id), jobs.c.status == "processing").values(**values)
        )
        return result.rowcount == 1
