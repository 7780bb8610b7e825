"""One real stack per test run: PostgreSQL, valkey and moto's S3 server on free ports, then the
accounts, media, jobs, worker and gateway processes, all started through devstack (the same code
`make dev` uses). Nothing here is a mock; data under a temporary directory, never .data/.

Fixtures
- stack: the running devstack.stack.Stack (stop_app/start_app/kill_app, stop_backing_server/
  restart_backing_server, env with DATABASE_URL, REDIS_URL, AWS_S3_ENDPOINT_URL).
- gateway_url, http: the gateway's base URL and an httpx.AsyncClient on it.
- accounts_stub, media_stub, jobs_stub: gRPC stubs with the internal token on a real channel.
- db: a psycopg connection (autocommit) to the test database; redis_client: a redis.Redis.
"""

from __future__ import annotations

import os

# The suite forks processes (the stack's apps, restarted by tests) while its gRPC channels are open;
# gRPC's at-fork handlers would run in those children. Set before grpc is imported below.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
import secrets
import shutil
import tempfile
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from devstack.processes import free_ports
from devstack.stack import Ports, Stack
from services.common.grpc_client import open_channel
from tests.fake_replicate import TOKEN as REPLICATE_TOKEN
from tests.fake_replicate import running_fake_replicate
from zapcut.accounts.v1 import accounts_pb2_grpc
from zapcut.jobs.v1 import jobs_pb2_grpc
from zapcut.media.v1 import media_pb2_grpc

INTERNAL_TOKEN = secrets.token_urlsafe(32)
SECRET_KEY = secrets.token_urlsafe(32)


def _test_env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "AWS_S3_ENDPOINT_URL")
    }
    env.update(
        DEBUG="false",
        INTERNAL_TOKEN=INTERNAL_TOKEN,
        SECRET_KEY=SECRET_KEY,
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


@pytest.fixture(scope="session")
def stack_dir():
    path = Path(tempfile.mkdtemp(prefix="zapcut-test-"))
    yield path
    if os.environ.get("KEEP_TEST_LOGS"):
        print(f"\ntest stack logs kept in {path / 'logs'}")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def stack_replicate(stack_dir):
    """The local server speaking Replicate's API that the stack's jobs service and worker use
    (for LoRA trainings; generations use the local provider)."""
    files = stack_dir / "replicate-files"
    files.mkdir()
    with running_fake_replicate(files) as fake:
        yield fake


@pytest.fixture(scope="session")
def stack(stack_dir, stack_replicate):
    ports = Ports(**dict(zip(Ports.VARIABLES, free_ports(len(Ports.VARIABLES)), strict=True)))
    env = _test_env() | {
        "REPLICATE_API_TOKEN": REPLICATE_TOKEN,
        "REPLICATE_BASE_URL": stack_replicate.base_url,
        "REPLICATE_LORA_DESTINATION_OWNER": "zapcut-test",
        "REPLICATE_POLL_INITIAL_S": "0.2",
        "REPLICATE_POLL_MAX_S": "0.5",
    }
    stack = Stack(
        data_dir=stack_dir / "data", ports=ports, env=env, durable=False, log_dir=stack_dir / "logs"
    )
    try:
        stack.start_backing()
        stack.migrate()
        # ZAPCUT_TEST_APPS=accounts,media limits the processes started, for work on one service.
        only = os.environ.get("ZAPCUT_TEST_APPS")
        stack.start_apps(set(only.split(",")) if only else None)
    except BaseException:
        _dump_logs(stack_dir / "logs")
        stack.stop()
        raise
    yield stack
    stack.stop()


def _dump_logs(log_dir: Path) -> None:
    for log in sorted(log_dir.glob("*.log")):
        print(f"----- {log.name} (last lines)")
        print("\n".join(log.read_text(errors="replace").splitlines()[-30:]))


@pytest.fixture(scope="session")
def gateway_url(stack) -> str:
    return f"http://127.0.0.1:{stack.ports.gateway}"


@pytest.fixture
async def http(gateway_url):
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def grpc_channel(stack):
    """grpc_channel(service) -> a channel to that service carrying the internal token."""
    channels = {}

    def open_for(service: str):
        if service not in channels:
            channels[service] = open_channel(f"127.0.0.1:{getattr(stack.ports, service)}", INTERNAL_TOKEN)
        return channels[service]

    return open_for


# The stub fixtures are async so that a channel they open first is bound to the running (session)
# event loop: a grpc.aio channel opened outside it attaches to another loop and its calls never run.
@pytest.fixture
async def accounts_stub(grpc_channel):
    return accounts_pb2_grpc.AccountsStub(grpc_channel("accounts"))


@pytest.fixture
async def media_stub(grpc_channel):
    return media_pb2_grpc.MediaStub(grpc_channel("media"))


@pytest.fixture
async def jobs_stub(grpc_channel):
    return jobs_pb2_grpc.JobsStub(grpc_channel("jobs"))


@pytest.fixture
def db(stack):
    with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as conn:
        yield conn


@pytest.fixture
def redis_client(stack):
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    yield client
    client.close()


def pytest_sessionfinish(session, exitstatus):
    # pytest's exit 5 ("no tests collected") must fail CI rather than pass silently.
    if exitstatus == 5:
        session.exitstatus = 1
