"""The RQ side of a job: enqueueing a row's job, and reading RQ's view of it for the reconciler.

The RQ job id is the generation_jobs row id (`lora-<id>` for a LoRA training, whose record is its
lora_models row). Everything here is synchronous (RQ is); the async service calls it through
asyncio.to_thread.
"""

from __future__ import annotations

import logging
import time

from redis import Redis
from rq import Queue
from rq.callbacks import Callback
from rq.exceptions import DuplicateJobError, InvalidJobOperation
from rq.executions import Execution, ExecutionRegistry
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.timeouts import TimerDeathPenalty

from services.common.telemetry import JOB_TRACE_META, current_context_carrier
from services.jobs.config import Settings

log = logging.getLogger(__name__)

# What RQ runs, by dotted path, so the service never imports worker code and `rq worker` resolves
# it alone. Jobs enqueued before these moved name services.jobs.tasks, kept as an alias for one
# release (a failed job is requeued as it is). A LoRA job naming services.jobs.lora_training needs
# none: it fails, and the reconciler replaces a LoRA's ended job with a new one.
RUN_JOB = "services.jobs.worker.tasks.run_job"
ON_FAILURE = "services.jobs.worker.tasks.on_job_failure"
RUN_LORA_TRAINING = "services.jobs.worker.tasks.run_lora_training"
DELIVER_WEBHOOK = "services.jobs.worker.tasks.deliver_webhook"
RENDER_VOICE_SAMPLE = "services.jobs.worker.tasks.render_voice_sample"
VOICE_SAMPLE_TIMEOUT_S = 120  # one sentence of eSpeak NG and an MP3 encode: about a second
LORA_RESULT_TTL_S = 3600
# RQ statuses after which the job will not run again by itself.
ENDED = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


def queue(redis: Redis, settings: Settings) -> Queue:
    return Queue(settings.rq_queue, connection=redis)


def enqueue(
    q: Queue, job_id: str, timeout_s: int, failure_ttl_s: int, depends_on: list[str] | None = None
) -> bool:
    """Enqueue the row's job unless an RQ job with its id already exists; True if this call enqueued.

    With depends_on, RQ defers the job until those jobs have finished (a generation's composite)."""
    options = {
        "job_id": job_id,
        "job_timeout": timeout_s,
        "failure_ttl": failure_ttl_s,
        # Dependents look their parents up, so finished parents must outlive RQ's default 500 s.
        "result_ttl": failure_ttl_s,
        "on_failure": Callback(ON_FAILURE),
        "description": f"generation job {job_id}",
    }
    # The job carries the trace of the request that enqueued it (the worker continues it).
    if trace_context := current_context_carrier():
        options["meta"] = {JOB_TRACE_META: trace_context}
    if depends_on:
        # RQ can't make a dependent job unique; a second copy would find nothing to claim anyway.
        if Job.exists(job_id, connection=q.connection):
            return False
        q.enqueue(RUN_JOB, job_id, depends_on=depends_on, **options)
        return True
    try:
        # unique is atomic in Redis: the API and the reconciler never queue one job twice.
        q.enqueue(RUN_JOB, job_id, unique=True, **options)
    except DuplicateJobError:
        return False
    return True


def lora_job_id(lora_id) -> str:
    return f"lora-{lora_id}"


def enqueue_lora_training(q: Queue, lora_id, timeout_s: int) -> None:
    """The training's RQ job; its lora_models row is its record, which the job itself settles."""
    q.enqueue(
        RUN_LORA_TRAINING,
        str(lora_id),
        job_id=lora_job_id(lora_id),
        job_timeout=timeout_s,
        result_ttl=LORA_RESULT_TTL_S,
    )


def webhook_job_id(delivery_id, attempt: int) -> str:
    return f"webhook-{delivery_id}-{attempt}"


def enqueue_webhook_attempts(q: Queue, due: list[tuple[str, int]], timeout_s: int) -> list[str]:
    """For due deliveries (id, attempts so far): enqueue the next attempt of each that has no RQ job
    for it yet, or whose job ended without settling the row (its worker died: the row's lease ran
    out). At the front of the queue: an attempt takes a moment, and must not wait behind renders
    that are queued. Returns the job ids enqueued."""
    job_ids = [webhook_job_id(delivery_id, attempt) for delivery_id, attempt in due]
    enqueued = []
    found = Job.fetch_many(job_ids, connection=q.connection)
    for (delivery_id, attempt), job_id, job in zip(due, job_ids, found, strict=True):
        if job is not None:
            if job.get_status(refresh=False) not in ENDED:
                continue
            job.delete()
        try:
            q.enqueue(
                DELIVER_WEBHOOK,
                str(delivery_id),
                attempt,
                job_id=job_id,
                unique=True,
                at_front=True,
                job_timeout=timeout_s,
                result_ttl=60,
                failure_ttl=24 * 3600,
                description=f"webhook delivery {delivery_id} attempt {attempt + 1}",
            )
        except DuplicateJobError:
            continue
        enqueued.append(job_id)
    return enqueued


def enqueue_voice_sample(q: Queue, voice_id: str) -> bool:
    """Enqueue the render of a voice's sample unless one is queued or running; True if this call
    enqueued. At the front: it takes a second, and someone is waiting for it with an <audio>
    element, not behind queued renders. Its record is the stored sample itself: a failed render
    is enqueued again by the next request that finds the sample missing."""
    job_id = f"voice-sample-{voice_id}"
    found = Job.fetch_many([job_id], connection=q.connection)[0]
    if found is not None:
        if found.get_status(refresh=False) not in ENDED:
            return False
        found.delete()
    try:
        q.enqueue(
            RENDER_VOICE_SAMPLE,
            voice_id,
            job_id=job_id,
            unique=True,
            at_front=True,
            job_timeout=VOICE_SAMPLE_TIMEOUT_S,
            result_ttl=0,
            failure_ttl=3600,
            description=f"voice sample {voice_id}",
        )
    except DuplicateJobError:
        return False
    return True


def enqueue_missing(q: Queue, jobs: list[tuple[str, int]], failure_ttl_s: int) -> list[str]:
    """For pending rows (id, timeout): enqueue those with no RQ job, or whose RQ job ended without
    running the row (it must run: the row says pending, e.g. after its worker died). Returns the
    ids enqueued."""
    enqueued = []
    found = Job.fetch_many([job_id for job_id, _ in jobs], connection=q.connection)
    for (job_id, timeout_s), job in zip(jobs, found, strict=True):
        if job is not None:
            status = job.get_status(refresh=False)
            if status not in ENDED:
                continue
            if status == JobStatus.FAILED and _requeue(job):
                enqueued.append(job_id)
                continue
            job.delete()
        if enqueue(q, job_id, timeout_s, failure_ttl_s):
            enqueued.append(job_id)
    return enqueued


def _requeue(job: Job) -> bool:
    """Put a failed RQ job back on its queue as it is, rather than make a new one: jobs waiting on it
    through depends_on (a generation's composite) stay linked to it and start when it finishes. At
    the front: it had been running already when its worker died."""
    try:
        job.requeue(at_front=True)
    except InvalidJobOperation:  # no longer in the failed registry (expired): enqueue a new job
        return False
    return True


def orphaned(redis: Redis, job_ids: list[str], lost_after_s: float) -> list[str]:
    """Among jobs whose rows say processing, those that no live worker is running: the worker or
    its work horse died (or Redis lost the job)."""
    return [job_id for job_id in job_ids if not _has_live_execution(redis, job_id, lost_after_s)]


def sweep_abandoned(q: Queue, lost_after_s: float) -> int:
    """Run RQ's abandoned-job handling now rather than at its next maintenance pass (every 600 s),
    counting a job as abandoned as soon as its worker has missed its heartbeats.

    RQ only sweeps an execution once its registry score (last heartbeat + monitoring interval + 60 s)
    has passed; executions whose heartbeat is older than lost_after_s are expired first, so RQ's own
    cleanup fails them and runs their on_failure callback (which puts the row back to pending to run
    again, services.jobs.queue.worker_losses). Returns how many.
    """
    registry = StartedJobRegistry(queue=q, death_penalty_class=TimerDeathPenalty)  # not the main thread
    stale = [
        f"{job_id}:{execution_id}"
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False)
        if not _execution_alive(q.connection, job_id, execution_id, lost_after_s)
    ]
    if stale:
        q.connection.zadd(registry.key, {key: 0 for key in stale}, xx=True)
        log.warning("jobs %s: worker silent for over %.0f s; failing as abandoned", stale, lost_after_s)
    registry.cleanup()
    return len(stale)


def _has_live_execution(redis: Redis, job_id: str, lost_after_s: float) -> bool:
    execution_ids = ExecutionRegistry(job_id=job_id, connection=redis).get_execution_ids()
    return any(_execution_alive(redis, job_id, eid, lost_after_s) for eid in execution_ids)


def _execution_alive(redis: Redis, job_id: str, execution_id: str, lost_after_s: float) -> bool:
    try:
        execution = Execution.fetch(id=execution_id, job_id=job_id, connection=redis)
    except ValueError:  # its hash expired: nobody has beaten for it in a long while
        return False
    return time.time() - execution.last_heartbeat.timestamp() < lost_after_s
