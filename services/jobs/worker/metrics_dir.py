"""prometheus-client's multiprocess mode for a worker that serves metrics (METRICS_PORT).

RQ runs each job in a work horse forked for it, which ends with os._exit: what the horse counted
would die with it. In multiprocess mode every process writes its samples into files in one
directory (PROMETHEUS_MULTIPROC_DIR) and the worker's metrics server adds them up at scrape time;
the worker marks each horse dead once it has ended.

prometheus-client reads the variable when it is first imported, so `python -m services.jobs.worker`
calls use_own_directory before importing anything that imports it.

Files are named by process, and prometheus-client names them by pid: one set of files per work
horse, so a worker that has run a million jobs would leave a million files, all read at every
scrape. The horses of one worker run one at a time, so they share one name instead
(`counter_horse<worker pid>.db`): each horse carries on from the counts of the one before it, and the
directory holds a few files per worker, however many jobs it has run.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
from pathlib import Path

from services.common.settings import load_settings
from services.jobs.config import Settings
from services.jobs.worker import horse_tempdirs

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "zapcut-worker-metrics-"

_horse_of: int | None = None  # in a work horse: the pid of the worker that forked it


def process_identity() -> str:
    """What this process's sample files are named by: the worker's horses share one name."""
    return horse_identity(_horse_of) if _horse_of is not None else str(os.getpid())


def horse_identity(worker_pid: int) -> str:
    return f"horse{worker_pid}"


def become_horse_of(worker_pid: int) -> None:
    """Called in a work horse as it starts (RQ runs one horse at a time per worker)."""
    global _horse_of
    _horse_of = worker_pid


def use_own_directory() -> None:
    """With METRICS_PORT set: samples go to PROMETHEUS_MULTIPROC_DIR if set (a Kubernetes emptyDir,
    say; emptied of an earlier run's files first), else to a temporary directory of this worker,
    removed when it exits."""
    if not load_settings(Settings).metrics_port:
        return
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before the worker chose its metrics directory")
    given = os.environ.get(VARIABLE)
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink(missing_ok=True)
    else:
        # Named by this process (as horses' temporary directories are), so that the next worker
        # removes it when this one was killed before its atexit could.
        horse_tempdirs.remove_stale(prefix=PREFIX)
        path = horse_tempdirs.own_directory(PREFIX)
        os.environ[VARIABLE] = str(path)
        atexit.register(shutil.rmtree, path, ignore_errors=True)
    from prometheus_client import values  # reads VARIABLE, set now

    values.ValueClass = values.MultiProcessValue(process_identifier=process_identity)


def mark_horse_dead() -> None:
    """This worker's horse ended: its live gauges stop counting (its counters and histograms stay
    added up, and the next horse carries on from them)."""
    if os.environ.get(VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(horse_identity(os.getpid()))
