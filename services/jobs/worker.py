"""An RQ worker for the jobs queue: `python -m services.jobs.worker`.

RQ's forking worker with our logging and settings and the scheduler on (so Retry fires), plus:
- a work horse dies with its worker. RQ puts each horse in its own process group, so a SIGKILLed
  worker would leave it running with nobody sending its heartbeats; the reconciler would then rightly
  declare the job dead while the orphan kept working on it;
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

from services.common.logging import configure_from_settings
from services.common.settings import load_settings
from services.jobs import rq_jobs
from services.jobs import tasks as _tasks  # noqa: F401 - loaded before RQ forks, so no job pays ~0.2 s for it
from services.jobs.config import Settings

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
        _die_with_parent(self.pid)
        super().main_work_horse(job, queue)

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


def _die_with_parent(parent_pid: int | None) -> None:
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent_pid is not None and os.getppid() != parent_pid:  # the worker died before prctl took effect
        os._exit(1)


def _exit_on_stop_signals() -> None:
    """Between RQ workers (RQ installs its own handlers while one runs), a stop signal just exits."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(0))


def main() -> None:
    settings = load_settings(Settings)
    configure_from_settings(SERVICE, settings)
    delay_s = RESTART_MIN_S
    while True:
        _exit_on_stop_signals()
        worker, started = None, time.monotonic()
        try:
            worker = JobsWorker(
                [settings.rq_queue],
                connection=rq_jobs.connect(settings, socket_timeout=False),
                job_monitoring_interval=settings.worker_job_monitoring_interval_s,
                maintenance_interval=settings.worker_maintenance_interval_s,
            )
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
