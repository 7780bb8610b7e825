"""prometheus-client's multiprocess mode for a worker that serves metrics (METRICS_PORT).

RQ runs each job in a work horse forked for it, which ends with os._exit: what the horse counted
would die with it. In multiprocess mode every process writes its samples into files in one
directory (PROMETHEUS_MULTIPROC_DIR) and the worker's metrics server adds them up at scrape time;
the worker marks each horse dead once it has ended.

prometheus-client reads the variable when it is first imported, so `python -m services.jobs.worker`
calls use_own_directory before importing anything that imports it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

from services.common.settings import load_settings
from services.jobs.config import Settings

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


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
        return
    path = tempfile.mkdtemp(prefix="zapcut-worker-metrics-")
    os.environ[VARIABLE] = path
    atexit.register(shutil.rmtree, path, ignore_errors=True)


def mark_horse_dead(pid: int) -> None:
    """A horse ended: its live gauges stop counting (its counters and histograms stay added up)."""
    if pid and os.environ.get(VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
