"""Fixtures of the tests that run real processes. The stack (tests/support/stack.py) starts on the
first test that asks for it, once per pytest process: with pytest-xdist, once per worker.

Fixtures
- stack: the running devstack.stack.Stack (stop_app/start_app/kill_app, stop_backing_server/
  restart_backing_server, env with DATABASE_URL, REDIS_URL, AWS_S3_ENDPOINT_URL).
- stack_replicate: the local server speaking Replicate's API that the stack's jobs and worker use.
- gateway_url, http: the gateway's base URL and an httpx.AsyncClient on it.
- accounts_stub, media_stub, jobs_stub: gRPC stubs with the internal token on a real channel.
- db: a psycopg connection (autocommit) to the test database; redis_client: a redis.Redis;
  s3: a signed httpx client on the stack's bucket (only services/media may import boto3).
- owner, other: fresh users signed up and logged in; brand: a brand of owner's.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from services.common.grpc_client import open_channel
from tests.support.api import new_brand, new_user, register_database
from tests.support.fake_replicate import TOKEN as REPLICATE_TOKEN
from tests.support.fake_replicate import WEBHOOK_SECRET as REPLICATE_WEBHOOK_SECRET
from tests.support.fake_replicate import running_fake_replicate
from tests.support.media import SigV4
from tests.support.stack import INTERNAL_TOKEN, stack_env, start_stack
from zapcut.accounts.v1 import accounts_pb2_grpc
from zapcut.jobs.v1 import jobs_pb2_grpc
from zapcut.media.v1 import media_pb2_grpc


@pytest.fixture(scope="session")
def stack_dir() -> Path:
    """This process's directory inside the run's (tests/conftest.py), named after its xdist worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return Path(tempfile.mkdtemp(prefix=f"{worker}-", dir=os.environ["ZAPCUT_TEST_RUN_DIR"]))


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
    env = stack_env() | {
        "REPLICATE_API_TOKEN": REPLICATE_TOKEN,
        "REPLICATE_BASE_URL": stack_replicate.base_url,
        "REPLICATE_LORA_DESTINATION_OWNER": "zapcut-test",
        "REPLICATE_POLL_INITIAL_S": "0.2",
        "REPLICATE_POLL_MAX_S": "0.5",
        # The jobs service verifies webhook deliveries with it; the stack's workers set no
        # REPLICATE_WEBHOOK_URL, so their trainings poll (test_replicate_webhooks.py runs steps
        # that ask for webhooks).
        "REPLICATE_WEBHOOK_SECRET": REPLICATE_WEBHOOK_SECRET,
    }
    # ZAPCUT_TEST_APPS=accounts,media limits the processes started, for work on one service.
    only = os.environ.get("ZAPCUT_TEST_APPS")
    stack = start_stack(stack_dir, env, set(only.split(",")) if only else None)
    yield stack
    stack.stop()


def _process_ids(stack) -> dict[str, int | None]:
    return {p.name: p.pid for p in stack.all_processes()}


@pytest.fixture(autouse=True)
def gateway_reaches_what_a_test_restarted(request):
    """After a test that restarted a service or a backing server, wait (bounded) until the gateway
    reaches each service again, so the next test does not meet a channel still reconnecting (a
    streamed upload is not retried: it would fail with a 503 naming the service). Tests that go on
    after a restart still wait themselves (wait_until_healthy); this covers whatever runs next."""
    if "stack" not in request.fixturenames:
        yield
        return
    stack = request.getfixturevalue("stack")
    before = _process_ids(stack)
    yield
    after = _process_ids(stack)
    changed = {name for name in after if after[name] != before.get(name)}
    gateway = stack.apps.get("gateway")
    if not changed or gateway is None or not gateway.running:
        return
    running = [s for s in ("accounts", "media", "jobs") if s in stack.apps and stack.apps[s].running]
    # A backing server restarted is vouched for by the services that use it.
    services = running if changed - set(stack.apps) else [s for s in running if s in changed]
    deadline = time.monotonic() + 60
    for service in services:
        url = f"http://127.0.0.1:{stack.ports.gateway}/api/health/{service}"
        while (status := _status_of(url)) != 200:
            assert time.monotonic() < deadline, f"the gateway does not reach {service} again ({status})"
            time.sleep(0.2)


def _status_of(url: str) -> int | str:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.HTTPError as exc:
        return type(exc).__name__


@pytest.fixture(scope="session")
def gateway_url(stack) -> str:
    url = f"http://127.0.0.1:{stack.ports.gateway}"
    register_database(url, stack.env["DATABASE_URL"])
    return url


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
            channels[service] = open_channel(stack.grpc_address(service), INTERNAL_TOKEN)
        return channels[service]

    return open_for


# The stub fixtures are async so that a channel they open first is bound to the running (session)
# event loop: a grpc.aio channel opened outside it attaches to another loop and its calls never run.
# Each waits until its channel is connected: a test before may have restarted the service, leaving
# the channel in reconnect backoff, where a call that is not retried (CreateJob) fails at once.
async def _ready(channel):
    await asyncio.wait_for(channel.channel_ready(), 60)
    return channel


@pytest.fixture
async def accounts_stub(grpc_channel):
    return accounts_pb2_grpc.AccountsStub(await _ready(grpc_channel("accounts")))


@pytest.fixture
async def media_stub(grpc_channel):
    return media_pb2_grpc.MediaStub(await _ready(grpc_channel("media")))


@pytest.fixture
async def jobs_stub(grpc_channel):
    return jobs_pb2_grpc.JobsStub(await _ready(grpc_channel("jobs")))


@pytest.fixture
def db(stack):
    with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as conn:
        yield conn


@pytest.fixture
def redis_client(stack):
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    yield client
    client.close()


@pytest.fixture
def s3(stack):
    """A signed httpx client on the bucket in the test S3 server (path-style)."""
    env = stack.app_env()
    base = f"{env['AWS_S3_ENDPOINT_URL']}/{env['AWS_S3_BUCKET']}"
    auth = SigV4(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_REGION"])
    with httpx.Client(base_url=base, auth=auth, timeout=10) as client:
        yield client


@pytest.fixture
async def owner(http) -> dict:
    return await new_user(http)


@pytest.fixture
async def other(http) -> dict:
    return await new_user(http)


@pytest.fixture
async def brand(http, owner) -> dict:
    return await new_brand(
        http, owner["headers"], description="Fizzy drinks", brand_guidelines={"tone": "bold"}
    )
