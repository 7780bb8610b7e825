"""Each RQ work horse keeps its temporary files in a directory of its own, named after its process:
`<temp dir>/zapcut-horse-<pid>-<start time>`. Everything a job makes with tempfile (a step's work
directory, a LoRA's zip) and every child it starts (TMPDIR: FFmpeg) lands inside it.

A horse killed with SIGKILL cannot clean up after itself, so its worker removes the directory once
the horse has ended, and a worker starting removes those of horses that are gone (its predecessor's,
killed with it). A directory whose process is alive is never touched: several workers, and their
horses, may share the temp directory. The start time in the name tells a reused pid from the horse.
The worker names its metrics directory the same way (services.jobs.worker.metrics_dir), so one
killed with SIGKILL has it removed by the next worker too.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

PREFIX = "zapcut-horse-"
_NAME = re.compile(r"^(?P<prefix>.+?)(?P<pid>\d+)-(?P<started>\d+)$")


def own_directory(prefix: str) -> Path:
    """`<temp dir>/<prefix><pid>-<start time>` of this process, made (0700) if missing."""
    me = psutil.Process()
    path = Path(tempfile.gettempdir()) / f"{prefix}{me.pid}-{_centiseconds(me.create_time())}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def use_own() -> Path:
    """In a new work horse: make its directory and send every temporary file there."""
    path = own_directory(PREFIX)
    tempfile.tempdir = str(path)
    os.environ["TMPDIR"] = str(path)
    return path


def remove_stale(root: Path | None = None, prefix: str = PREFIX) -> list[Path]:
    """Remove the directories of processes that no longer run; returns them."""
    root = root or Path(tempfile.gettempdir())
    removed = []
    for path in root.glob(f"{prefix}*"):
        match = _NAME.match(path.name)
        if match is None or match["prefix"] != prefix or _running(int(match["pid"]), int(match["started"])):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    if removed:
        log.info("removed %d directories of ended processes (%s*)", len(removed), prefix)
    return removed


def _running(pid: int, started: int) -> bool:
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        # Ticks are 10 ms: allow one of rounding. Another start time is another process.
        return abs(_centiseconds(process.create_time()) - started) <= 1
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # not ours to inspect: leave it alone
        return True


def _centiseconds(timestamp: float) -> int:
    return round(timestamp * 100)
