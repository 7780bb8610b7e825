"""The parts the worker recovery is built from, each on its own: what a failure tells the user,
which temporary directories of work horses are removed, and when a scheduler lock is freed.

Real processes and a real Redis where they matter (a process started and killed here stands for a
dead horse or scheduler); the rest is pure logic.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.utils import now, utcformat

from services.jobs.worker import horse_tempdirs, metrics_dir, scheduler_lock

# --- temporary directories of work horses ------------------------------------------------------------


def a_dead_process() -> psutil.Process:
    """A process started and ended here; its psutil handle keeps its pid and start time."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # noqa: S603
    process = psutil.Process(child.pid)
    process.create_time()  # read while it runs
    child.kill()
    child.wait(10)
    return process


def horse_dir(root: Path, pid: int, create_time: float) -> Path:
    path = root / f"{horse_tempdirs.PREFIX}{pid}-{round(create_time * 100)}"
    (path / "zapcut-scene-12345678-abc").mkdir(parents=True)
    return path


def test_only_the_directories_of_horses_that_no_longer_run_are_removed(tmp_path):
    me = psutil.Process()
    mine = horse_dir(tmp_path, me.pid, me.create_time())
    dead = a_dead_process()
    gone = horse_dir(tmp_path, dead.pid, dead.create_time())
    # The pid of a live process, but not the process that made the directory (pid reuse).
    reused = horse_dir(tmp_path, me.pid, me.create_time() - 3600)
    other = tmp_path / "zapcut-test-something"
    other.mkdir()

    assert sorted(horse_tempdirs.remove_stale(tmp_path)) == sorted([gone, reused])
    assert mine.exists() and other.exists() and not gone.exists() and not reused.exists()


def test_a_killed_workers_metrics_directory_is_removed_by_the_next_worker(tmp_path):
    dead = a_dead_process()
    killed = tmp_path / f"{metrics_dir.PREFIX}{dead.pid}-{round(dead.create_time() * 100)}"
    killed.mkdir()
    (killed / "counter_horse123.db").write_bytes(b"\0" * 16)
    me = psutil.Process()
    live = tmp_path / f"{metrics_dir.PREFIX}{me.pid}-{round(me.create_time() * 100)}"
    live.mkdir()
    horse = horse_dir(tmp_path, me.pid, me.create_time())

    assert horse_tempdirs.remove_stale(tmp_path, prefix=metrics_dir.PREFIX) == [killed]
    assert live.exists() and horse.exists()


def test_a_horse_sends_its_temporary_files_to_its_own_directory(tmp_path):
    script = (
        "import sys, tempfile; tempfile.tempdir = sys.argv[1]\n"
        "from services.jobs.worker import horse_tempdirs\n"
        "own = horse_tempdirs.use_own()\n"
        "print(own, tempfile.mkdtemp(prefix='zapcut-scene-'))\n"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True, timeout=60
    )
    own, workdir = (Path(p) for p in out.stdout.split())
    assert own.parent == tmp_path and own.name.startswith(horse_tempdirs.PREFIX)
    assert workdir.parent == own
    # Its process has ended: the next sweep removes it.
    assert horse_tempdirs.remove_stale(tmp_path) == [own]


# --- the scheduler lock ------------------------------------------------------------------------------


def hold_lock(redis_client, queue: str, *, host: str, pid: int, lease_ms: int, registered: bool = True):
    name = uuid.uuid4().hex
    redis_client.set(RQScheduler.get_locking_key(queue), name, px=lease_ms)
    if registered:
        beat = utcformat(now())
        redis_client.hset(
            SCHEDULER_KEY_TEMPLATE % name,
            mapping={"name": name, "hostname": host, "pid": pid, "queues": queue, "created_at": beat,
                     "last_heartbeat": beat},
        )  # fmt: skip
        redis_client.expire(SCHEDULER_KEY_TEMPLATE % name, 61)
    return name


@pytest.mark.parametrize(
    ("case", "freed"),
    [
        ("alive on this host", False),
        ("dead on this host", True),
        ("elsewhere, renewing", False),
        ("elsewhere, silent for 30 s", True),
        ("not registered yet", False),
    ],
)
def test_a_scheduler_lock_is_freed_only_when_its_holder_is_dead(redis_client, case, freed):
    queue = f"recovery-test-{uuid.uuid4().hex[:8]}"
    here, fresh = socket.gethostname(), 61_000
    holder = {
        "alive on this host": lambda: hold_lock(redis_client, queue, host=here, pid=psutil.Process().pid, lease_ms=fresh),
        "dead on this host": lambda: hold_lock(redis_client, queue, host=here, pid=a_dead_process().pid, lease_ms=fresh),
        "elsewhere, renewing": lambda: hold_lock(redis_client, queue, host="elsewhere", pid=1, lease_ms=fresh),
        "elsewhere, silent for 30 s": lambda: hold_lock(redis_client, queue, host="elsewhere", pid=1, lease_ms=31_000),
        "not registered yet": lambda: hold_lock(redis_client, queue, host=here, pid=1, lease_ms=fresh, registered=False),
    }[case]()  # fmt: skip
    try:
        assert scheduler_lock.release_if_dead(redis_client, [queue]) == ([queue] if freed else [])
        assert redis_client.get(RQScheduler.get_locking_key(queue)) == (None if freed else holder.encode())
        if freed:
            assert not redis_client.exists(SCHEDULER_KEY_TEMPLATE % holder)
    finally:
        redis_client.delete(RQScheduler.get_locking_key(queue), SCHEDULER_KEY_TEMPLATE % holder)
