"""Finding the stack's processes (by the ports they listen on, and the workers beside them) and
their peak resident memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil

WORKER_MODULE = "services.jobs.worker"


@dataclass(frozen=True)
class StackProcess:
    name: str
    pid: int
    peak_rss: int | None  # bytes; VmHWM, the most the process has held since it started
    rss: int | None  # bytes, now


def find(ports: dict[str, int]) -> list[StackProcess]:
    """The processes listening on `ports` (name -> port), then the RQ workers started beside them."""
    try:
        listeners = {
            c.laddr.port: c.pid
            for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.pid is not None and c.laddr
        }
    except psutil.AccessDenied:
        return []
    found = [(name, listeners[port]) for name, port in ports.items() if port in listeners]
    parents = {_ppid(pid) for _, pid in found} - {None}
    workers = [
        p.pid
        for p in psutil.process_iter(["cmdline", "ppid"])
        if _is_worker(p.info["cmdline"]) and p.info["ppid"] in parents
    ]
    found += [("worker" if i == 0 else f"worker-{i + 1}", pid) for i, pid in enumerate(sorted(workers))]
    return [StackProcess(name, pid, peak_rss(pid), _rss(pid)) for name, pid in found]


def _is_worker(cmdline: list[str] | None) -> bool:
    # Work horses are forks of a worker and share its command line; their parent is a worker, not
    # the supervisor, so the ppid filter in find() leaves them out.
    return cmdline is not None and WORKER_MODULE in cmdline


def _ppid(pid: int) -> int | None:
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None


def _rss(pid: int) -> int | None:
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return None


def peak_rss(pid: int) -> int | None:
    """VmHWM from /proc (Linux); None where it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
