"""RQ's scheduler lock (`rq:scheduler-lock:<queue>`), freed as soon as its holder is known to be dead
instead of when its lease runs out.

RQ's scheduler is a child process of one worker. It holds the lock and renews its 61 s lease every
second; the lock's value names it, and its hash (`rq:scheduler:<name>`) says its host, pid and last
heartbeat. Killed with its worker (SIGKILL leaves it no chance to release), it would keep every
other worker's scheduler out for up to a minute, and a worker tries to take the lock again only at
its next maintenance pass (WORKER_MAINTENANCE_INTERVAL_S). So a worker frees, before it starts its
scheduler and before each maintenance pass, a lock whose holder is dead: on this host, when its pid
no longer runs it; on any host, when it has not renewed its lease for STALE_AFTER_S.
"""

from __future__ import annotations

import logging
import socket

import psutil
from redis import Redis
from rq.exceptions import SchedulerNotFound
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.scripts import release_lock

log = logging.getLogger(__name__)

# The lease RQ gives the lock: the scheduler's interval (1 s) + 60 s, renewed every interval.
LEASE_S = 61
# Renewals missed before a holder on another host counts as dead.
STALE_AFTER_S = 15


def release_if_dead(redis: Redis, queue_names: list[str]) -> list[str]:
    """Free the scheduler locks of these queues whose holder is dead; returns the queues freed."""
    freed = []
    for queue_name in queue_names:
        key = RQScheduler.get_locking_key(queue_name)
        holder = redis.get(key)
        if holder is None:
            continue
        holder = holder.decode() if isinstance(holder, bytes) else holder
        reason = _why_dead(redis, key, holder)
        if reason and release_lock(redis, key, holder):
            redis.delete(SCHEDULER_KEY_TEMPLATE % holder)  # its registration, for `rq info` and the like
            log.warning("scheduler lock of queue %s freed: its holder %s %s", queue_name, holder, reason)
            freed.append(queue_name)
    return freed


def _why_dead(redis: Redis, key: str, holder: str) -> str | None:
    lease_left_ms = redis.pttl(key)
    if 0 <= lease_left_ms < (LEASE_S - STALE_AFTER_S) * 1000:
        return f"has not renewed its lease for over {STALE_AFTER_S} s"
    try:
        scheduler = RQScheduler.fetch(holder, connection=redis)
    except SchedulerNotFound:
        return None  # just acquired, not registered yet; or gone, and its lease says so soon
    if scheduler.hostname != socket.gethostname() or scheduler.last_heartbeat is None:
        return None
    if not _runs(scheduler.pid, scheduler.last_heartbeat.timestamp()):
        return f"(pid {scheduler.pid} on this host) is no longer running"
    return None


def _runs(pid: int, last_heartbeat: float) -> bool:
    """Whether pid is still the scheduler that beat at last_heartbeat (not a process that reused it)."""
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.create_time() <= last_heartbeat + 1
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # not ours to inspect: assume it lives
        return True
