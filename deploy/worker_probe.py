"""Container healthcheck of an RQ worker: healthy while a live worker of this container is
registered in Redis.

    python deploy/worker_probe.py

RQ keeps a worker's registration only while its heartbeats arrive, so a hung or dead worker drops
out. Each replica of jobs-worker is its own container, so the container's hostname picks ours out.
"""

from __future__ import annotations

import os
import socket
import sys

from redis import Redis
from redis.exceptions import RedisError
from rq import Worker


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main() -> int:
    url = os.environ.get("REDIS_URL")
    if not url:
        print("REDIS_URL is not set")
        return 1
    host = socket.gethostname()
    try:
        with Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1) as redis:
            ours = [w for w in Worker.all(connection=redis) if w.hostname == host and _alive(w.pid)]
    except RedisError as exc:
        print(f"redis unreachable: {type(exc).__name__}")
        return 1
    if not ours:
        print(f"no live RQ worker registered for host {host}")
        return 1
    print(", ".join(f"{w.name}: {w.get_state()}" for w in ours))
    return 0


if __name__ == "__main__":
    sys.exit(main())
