"""The test stack: PostgreSQL, valkey and moto's S3 server on free ports, then the accounts, media,
jobs, worker and gateway processes, all started through devstack (the same code `make dev` uses),
with data under a temporary directory, never .data/.

Each pytest process starts its own (with pytest-xdist, one per worker), so a test that stops, kills
or restarts a process, or empties a server, disturbs only the tests of its own worker, which run one
after another."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from devstack.processes import free_ports
from devstack.stack import Ports, Stack

# Per pytest process: the stack's apps get these, and tests that call a service directly or forge
# what the gateway signs use them.
INTERNAL_TOKEN = secrets.token_urlsafe(32)
SECRET_KEY = secrets.token_urlsafe(32)
# The operators' credential (accounts' AccountsAdmin, the admin CLI); the gateway never uses it.
ADMIN_TOKEN = secrets.token_urlsafe(32)

# A start that fails is tried again on new ports: another process (another worker's stack, another
# checkout's tests) may take a port between the moment it is picked and the moment a server binds it.
START_ATTEMPTS = 3


def stack_env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "AWS_S3_ENDPOINT_URL")
    }
    env.update(
        DEBUG="false",
        INTERNAL_TOKEN=INTERNAL_TOKEN,
        SECRET_KEY=SECRET_KEY,
        ADMIN_TOKEN=ADMIN_TOKEN,
        LOG_LEVEL="INFO",
        LOG_FORMAT="text",
        AWS_S3_BUCKET="zapcut-adgen-test",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="test-access-key",
        AWS_SECRET_ACCESS_KEY="test-secret-key",
        # Short intervals so recovery paths run within a test's patience.
        RECONCILE_INTERVAL_S="1",
        ENQUEUE_GRACE_S="1",
        WORKER_JOB_MONITORING_INTERVAL_S="2",
        CORS_ORIGINS="http://localhost:3000",
    )
    return env


def start_stack(directory: Path, env: dict[str, str], only: set[str] | None, replicas: int = 1) -> Stack:
    """A running stack with its data and logs under `directory`; `only` limits the apps started;
    `replicas` processes of each service and gateway (and as many workers), every port a free one."""
    for attempt in range(1, START_ATTEMPTS + 1):
        picked = free_ports(len(Ports.VARIABLES) + (4 * replicas if replicas > 1 else 0))
        ports = Ports(**dict(zip(Ports.VARIABLES, picked, strict=False)))
        spare = picked[len(Ports.VARIABLES) :]
        replica_ports = {
            app: spare[i * replicas : (i + 1) * replicas]
            for i, app in enumerate(("accounts", "media", "jobs", "gateway"))
        }
        data = directory / "data" if attempt == 1 else directory / f"data-{attempt}"
        stack = Stack(
            data_dir=data,
            ports=ports,
            env=dict(env),
            durable=False,
            log_dir=directory / "logs",
            workers=replicas,
            replicas=replicas,
            # A service's replicas 2.. (its first is on its Ports port); every gateway's.
            replica_ports={app: p[1:] if app != "gateway" else p for app, p in replica_ports.items()},
        )
        try:
            stack.start_backing()
            stack.migrate()
            stack.start_apps(only)
            return stack
        except BaseException as error:
            dump_logs(directory / "logs")
            stack.stop()
            if attempt == START_ATTEMPTS or not isinstance(error, Exception):
                raise
            print(f"the test stack failed to start (attempt {attempt}); trying again on other ports")
    raise AssertionError("unreachable")


def dump_logs(log_dir: Path) -> None:
    for log in sorted(log_dir.glob("*.log")):
        print(f"----- {log.name} (last lines)")
        print("\n".join(log.read_text(errors="replace").splitlines()[-30:]))
