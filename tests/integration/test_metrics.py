"""Prometheus metrics on every process of the test stack, scraped after a real generation: the
gateway's /metrics, each gRPC service's and the worker's METRICS_PORT (devstack gives each one)."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.common.grpc_client import open_channel
from tests.support.api import new_user
from tests.support.generation import generate, ready_project
from zapcut.accounts.v1 import accounts_pb2, accounts_pb2_grpc

GENERATE_ROUTE = "/api/projects/{project_id}/generate"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")


def scrape(url: str) -> dict[str, list]:
    """Family name -> its samples."""
    reply = httpx.get(url, timeout=10)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(reply.text)}


def total(families: dict[str, list], sample: str, **labels: str) -> float:
    """The sum of the samples named `sample` (a counter's _total, a histogram's _count or _sum) whose
    labels include `labels`."""
    return sum(
        s.value
        for family in families.values()
        for s in family
        if s.name == sample and labels.items() <= s.labels.items()
    )


@pytest.fixture(scope="module")
async def after_a_generation(stack, gateway_url):
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as http:
        user = await new_user(http)
        project = await ready_project(http, user, images=1)
        done = await generate(http, user, project["id"])
    return done


@pytest.fixture
def metrics_of(stack, after_a_generation):
    return lambda app: scrape(stack.metrics_url(app))


def test_the_gateway_counts_and_times_requests_by_route_template(metrics_of):
    gateway = metrics_of("gateway")
    assert (
        total(gateway, "zapcut_http_requests_total", method="POST", route=GENERATE_ROUTE, status_class="2xx")
        >= 1
    )
    assert (
        total(gateway, "zapcut_http_request_duration_seconds_count", method="POST", route=GENERATE_ROUTE) >= 1
    )
    routes = {s.labels["route"] for s in gateway["zapcut_http_requests"]}
    assert not [r for r in routes if UUID.search(r)], routes  # templates, never a path with an id in it


def test_metrics_are_not_in_the_api_schema_and_need_no_token(stack, gateway_url, after_a_generation):
    assert httpx.get(f"{gateway_url}/metrics").status_code == 200
    assert "/metrics" not in httpx.get(f"{gateway_url}/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("app", "method"),
    [
        ("accounts", "/zapcut.accounts.v1.Accounts/Authenticate"),
        ("jobs", "/zapcut.jobs.v1.Jobs/StartGeneration"),
        ("media", "/zapcut.media.v1.Media/UploadObject"),
    ],
)
def test_each_grpc_service_counts_and_times_its_calls(metrics_of, app, method):
    families = metrics_of(app)
    assert total(families, "zapcut_grpc_server_handled_total", method=method, code="OK") >= 1, sorted(
        {s.labels["method"] for s in families["zapcut_grpc_server_handled"]}
    )
    assert total(families, "zapcut_grpc_server_handling_seconds_count", method=method) >= 1
    assert [s for s in families["zapcut_db_pool_connections_in_use"] if s.labels == {"pool": "service"}]
    assert total(families, "zapcut_db_pool_size", pool="service") >= 1


async def test_a_refused_grpc_call_counts_under_its_status_code(stack, metrics_of):
    method = "/zapcut.accounts.v1.Accounts/Authenticate"
    before = total(
        metrics_of("accounts"), "zapcut_grpc_server_handled_total", method=method, code="UNAUTHENTICATED"
    )
    channel = open_channel(stack.grpc_address("accounts"), "not-the-internal-token")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await accounts_pb2_grpc.AccountsStub(channel).Authenticate(
                accounts_pb2.AuthenticateRequest(token="x")
            )
    finally:
        await channel.close()
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    after = total(
        metrics_of("accounts"), "zapcut_grpc_server_handled_total", method=method, code="UNAUTHENTICATED"
    )
    assert after == before + 1


def test_accounts_shows_its_argon2_slots_and_outbox_lag(metrics_of):
    accounts = metrics_of("accounts")
    assert {s.labels["pool"] for s in accounts["zapcut_argon2_slots_in_use"]} == {"verify", "hash"}
    (lag,) = accounts["zapcut_outbox_lag_seconds"]
    assert lag.value >= 0


def test_jobs_shows_the_queue_and_its_outbox_lag(metrics_of, stack):
    jobs = metrics_of("jobs")
    queue = stack.app_env().get("RQ_QUEUE", "default")
    assert [s for s in jobs["zapcut_rq_queue_jobs"] if s.labels == {"queue": queue}]
    assert [s for s in jobs["zapcut_rq_oldest_job_age_seconds"] if s.labels == {"queue": queue}]
    assert jobs["zapcut_outbox_lag_seconds"]


def test_the_worker_counts_jobs_from_its_work_horses_and_the_render_ratio(metrics_of, after_a_generation):
    worker = metrics_of("worker")
    names = {j["name"] for j in after_a_generation["jobs"]}
    assert {"composite", "music", "voiceover"} <= names
    for job_type in ("scene", "voiceover", "music", "composite"):
        assert total(worker, "zapcut_jobs_total", job_type=job_type, outcome="completed") >= 1, job_type
        assert total(worker, "zapcut_job_duration_seconds_count", job_type=job_type, outcome="completed") >= 1
        assert total(worker, "zapcut_render_seconds_per_output_second_count", kind=job_type) >= 1, job_type
    assert total(worker, "zapcut_render_seconds_per_output_second_sum", kind="scene") > 0


async def test_the_work_horses_of_a_worker_share_their_sample_files(stack, gateway_url, after_a_generation):
    """One set of sample files per worker, not one per job it has run: otherwise the directory, and
    every scrape, would grow with each job (services/jobs/worker/metrics_dir.py)."""
    worker = stack.apps["worker"]
    found = re.findall(r"metric samples of the worker and its horses in (\S+)", worker.log_file.read_text())
    directory = Path(found[-1])
    before = {p.name for p in directory.glob("*.db")}

    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as http:
        user = await new_user(http)
        project = await ready_project(http, user, images=1)
        done = await generate(http, user, project["id"])
    assert len(done["jobs"]) >= 4  # each run by a horse of its own

    new = {p.name for p in directory.glob("*.db")} - before
    # Files named by a process id other than the horses' shared name would be one per horse.
    assert not [name for name in new if not re.fullmatch(r"[a-z_]+_horse\d+\.db", name)], sorted(new)
