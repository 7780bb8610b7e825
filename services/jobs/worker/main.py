"""An RQ worker for the jobs queue: `python -m services.jobs.worker`.

RQ's forking worker with our logging and settings and the scheduler on (so Retry fires), plus:
- every process the worker forks dies with it: its work horses, which RQ puts in process groups of
  their own, and RQ's scheduler process. Without that a SIGKILLed worker would leave a horse working
  with nobody sending its heartbeats (the reconciler would rightly run the job again elsewhere while
  the orphan kept at it) and a scheduler holding the scheduler lock for good;
- a scheduler lock whose holder is dead is freed at once (scheduler_lock), so the next worker's
  scheduler does not wait out the dead one's lease;
- each horse keeps its temporary files in a directory of its own, removed once the horse has ended,
  and at start a worker removes those of horses killed before they could (horse_tempdirs);
- at start, the voice catalog's samples that are not stored yet are rendered (voice_samples);
- a worker whose loop ends without being asked to stop (RQ quits on some Redis errors, e.g. Redis
  going away while it starts or between jobs) is replaced by a new one, with backoff, instead of
  leaving the queue without a worker.
SIGTERM/SIGINT is RQ's warm shutdown (finish the current job, then exit); a second one is cold.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import time

from redis.exceptions import RedisError
from rq import Worker
from sqlalchemy.exc import SQLAlchemyError

from services.common.logging import configure_from_settings
from services.common.metrics import serve_metrics
from services.common.redis_clients import sync_redis
from services.common.settings import load_settings
from services.common.telemetry import setup_tracing
from services.jobs.config import Settings
from services.jobs.queue import job_types
from services.jobs.runtime import runtime
from services.jobs.worker import horse_tempdirs, metrics_dir, scheduler_lock, voice_samples
from services.jobs.worker import tasks as _tasks  # loaded before RQ forks, so no job pays for it

SERVICE = "worker"
RESTART_MIN_S = 1.0
RESTART_MAX_S = 30.0
_PR_SET_PDEATHSIG = 1

log = logging.getLogger(__name__)


class JobsWorker(Worker):
    stop_requested = False

    def request_stop(self, signum, frame):
        self.stop_requested = True
        super().request_stop(signum, frame)

    def main_work_horse(self, job, queue):
        metrics_dir.become_horse_of(os.getppid())
        horse_tempdirs.use_own()
        super().main_work_horse(job, queue)

    def execute_job(self, job, queue):
        try:
            super().execute_job(job, queue)
        finally:
            metrics_dir.mark_horse_dead()
            horse_tempdirs.remove_stale()  # the horse has ended, however it ended

    def run_maintenance_tasks(self):
        # RQ's pass restarts a scheduler that is not running if it can take the lock.
        with contextlib.suppress(RedisError):
            scheduler_lock.release_if_dead(self.connection, self.queue_names())
        super().run_maintenance_tasks()

    def teardown(self):
        try:
            super().teardown()
        except RedisError:
            # Redis is what ended the loop: the scheduler is stopped already; stop the pubsub
            # thread too rather than leave it retrying behind the next worker.
            if self.pubsub_thread is not None:
                with contextlib.suppress(Exception):
                    self.pubsub_thread.stop()
                    self.pubsub_thread.join(timeout=1)


def _children_die_with_their_parent() -> None:
    """Every child forked from here on (a horse, RQ's scheduler, a horse's own children) gets
    PR_SET_PDEATHSIG = SIGKILL towards the process that forked it."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    forking = {"pid": os.getpid()}

    def before() -> None:
        forking["pid"] = os.getpid()

    def in_child() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != forking["pid"]:  # the parent died before prctl took effect
            os._exit(1)

    os.register_at_fork(before=before, after_in_child=in_child)


def _exit_on_stop_signals() -> None:
    """Between RQ workers (RQ installs its own handlers while one runs), a stop signal just exits."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(0))


def _warm_runtime() -> None:
    """Make the runtime before RQ forks, so every horse inherits an engine whose dialect is loaded
    and initialised (services.jobs.runtime) and whose cache holds the statements every job runs.
    Without Postgres yet, the first job's connection initialises it instead."""
    try:
        _tasks.compile_statements(runtime().engine)
    except SQLAlchemyError as exc:
        log.warning("worker: Postgres not reachable at start (%s); jobs will connect when it is", exc)


def main() -> None:
    settings = load_settings(Settings)
    configure_from_settings(SERVICE, settings)
    setup_tracing(SERVICE)  # the work horses inherit it (tasks.run_job continues the enqueuer's trace)
    _children_die_with_their_parent()
    job_types.load_all()  # before RQ forks, so no job pays for importing its handler
    _warm_runtime()
    horse_tempdirs.remove_stale()
    voice_samples.render_missing_in_child(settings)
    serve_metrics(settings.metrics_port, settings.grpc_bind_host)
    if settings.metrics_port:
        samples = os.environ[metrics_dir.VARIABLE]
        log.info("worker: metric samples of the worker and its horses in %s", samples)
    delay_s = RESTART_MIN_S
    while True:
        _exit_on_stop_signals()
        worker, started = None, time.monotonic()
        try:
            worker = JobsWorker(
                [settings.rq_queue],
                connection=sync_redis(settings, socket_timeout=False),
                job_monitoring_interval=settings.worker_job_monitoring_interval_s,
                maintenance_interval=settings.worker_maintenance_interval_s,
            )
            scheduler_lock.release_if_dead(worker.connection, worker.queue_names())
            worker.work(with_scheduler=True, logging_level=settings.log_level)
        except RedisError as exc:
            log.warning("worker: Redis failed (%s: %s)", type(exc).__name__, exc)
        if worker is not None and worker.stop_requested:
            return
        _exit_on_stop_signals()
        if time.monotonic() - started > RESTART_MAX_S:
            delay_s = RESTART_MIN_S  # it ran for a while: this is a new problem, not the same one
        log.warning("worker: RQ's loop ended without a stop request; a new worker starts in %.0f s", delay_s)
        time.sleep(delay_s)
        delay_s = min(delay_s * 2, RESTART_MAX_S)


if __name__ == "__main__":
    main()
