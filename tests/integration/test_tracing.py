"""One trace from a client's request through the gateway, accounts and jobs, across RQ into the
workers, and on to media and S3: a stack of its own exporting to a real OTLP/HTTP receiver."""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx
import pytest

from tests.support.api import new_user, register_database
from tests.support.generation import TERMINAL, ready_project, wait_for
from tests.support.otlp_receiver import running_otlp_receiver
from tests.support.stack import stack_env, start_stack

SERVICES = {"zapcut-gateway", "zapcut-accounts", "zapcut-jobs", "zapcut-worker", "zapcut-media"}


@pytest.fixture(scope="module")
def receiver():
    with running_otlp_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def traced_stack(stack_dir, receiver):
    directory = stack_dir / "traced"
    directory.mkdir()
    # Export every 200 ms rather than every 5 s, so the test waits less for the last spans.
    env = stack_env() | {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    stack = start_stack(directory, env, None)
    yield stack
    stack.stop()


@pytest.fixture
async def traced_http(traced_stack):
    url = f"http://127.0.0.1:{traced_stack.ports.gateway}"
    register_database(url, traced_stack.env["DATABASE_URL"])
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client


async def spans_of(receiver, trace_id: str, until, timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while True:
        spans = [s for s in receiver.received() if s.trace_id == trace_id]
        if until(spans) or time.monotonic() > deadline:
            return spans
        await asyncio.sleep(0.2)


async def test_a_generation_is_one_trace_from_the_client_to_s3(traced_http, receiver):
    user = await new_user(traced_http)
    project = await ready_project(traced_http, user, images=1)
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = f"00-{trace_id}-{client_span}-01"

    reply = await traced_http.post(
        f"/api/projects/{project['id']}/generate",
        json={"aspect": "9:16", "resolution": 360},
        headers=user["headers"] | {"traceparent": traceparent},
    )
    assert reply.status_code == 202, reply.text
    request_id = reply.headers["X-Request-ID"]
    done = await wait_for(traced_http, user, project["id"], TERMINAL)
    assert done["status"] == "completed", done
    job_count = len(done["jobs"])

    def complete(spans) -> bool:
        jobs_run = {s.attributes.get("zapcut.job_id") for s in spans if s.service == "zapcut-worker"}
        return SERVICES <= {s.service for s in spans} and len(jobs_run - {None}) == job_count

    spans = await spans_of(receiver, trace_id, complete)
    by_id = {s.span_id: s for s in spans}
    assert SERVICES <= {s.service for s in spans}, sorted({(s.service, s.name) for s in spans})

    # The gateway continued the client's trace, under the client's span, with the request id on it.
    (entry,) = [s for s in spans if s.parent_span_id == client_span]
    assert entry.service == "zapcut-gateway"
    assert entry.name == "POST /api/projects/{project_id}/generate"
    assert entry.attributes["zapcut.request_id"] == request_id

    # Every job of the generation ran on a worker inside this trace, named by its job type.
    worker_jobs = [s for s in spans if s.service == "zapcut-worker" and "zapcut.job_id" in s.attributes]
    assert {s.attributes["zapcut.job_id"] for s in worker_jobs} == {j["id"] for j in done["jobs"]}
    assert all(s.name.startswith("job ") for s in worker_jobs)

    # S3 calls made by media, under a media span, which leads back to a worker's job.
    s3_calls = [s for s in spans if s.service == "zapcut-media" and s.attributes.get("rpc.service") == "S3"]
    assert s3_calls, sorted({(s.service, s.name) for s in spans})

    def services_above(span) -> set[str]:
        seen = set()
        while span.parent_span_id in by_id:
            span = by_id[span.parent_span_id]
            seen.add(span.service)
        return seen

    assert any({"zapcut-worker", "zapcut-gateway"} <= services_above(s) for s in s3_calls)
