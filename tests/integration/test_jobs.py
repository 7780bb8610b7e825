"""The jobs service, its RQ worker and its reconciler as real processes on a real Postgres and Redis.

Each test uses a fresh project id. Tests that stop or kill a process restore it in `finally`, so
later tests see a whole stack. Waits are bounded polls; nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest
from psycopg.rows import dict_row
from rq import Queue, Worker
from rq.callbacks import Callback
from rq.exceptions import NoSuchJobError
from rq.job import Job

from devstack.stack import ROOT
from services.common.context import USER_ID_HEADER
from services.jobs.config import Settings
from tests.support.jobs import create, row, wait_for, wait_for_status
from tests.support.logs import log_size, wait_for_log_lines
from zapcut.common.v1 import dependencies_pb2
from zapcut.jobs.v1 import jobs_pb2

MAX_WORKER_LOSSES = Settings.model_fields["job_max_worker_losses"].default  # the test stack's


# --- helpers -----------------------------------------------------------------------------------


def rows_of(db, project: str) -> list[dict]:
    with db.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT * FROM jobs.generation_jobs WHERE ad_project_id = %s", (project,)
        ).fetchall()


def rq_status(redis_client, job_id: str) -> str | None:
    try:
        return Job.fetch(job_id, connection=redis_client).get_status()
    except NoSuchJobError:
        return None


def reconciler_failing(jobs_log) -> bool:
    said = [
        line
        for line in jobs_log.read_text(errors="replace").splitlines()
        if "reconciler: tick failed" in line or "reconciler: working again" in line
    ]
    return bool(said) and "tick failed" in said[-1]


def ensure_worker(stack) -> None:
    if not stack.apps["worker"].running:
        stack.start_app("worker")


def insert_row(db, project: str, status: str, params: dict | None = None, worker_losses: int = 0) -> str:
    """A row written behind the service's back, created 30 s ago (past any enqueue grace)."""
    return db.execute(
        "INSERT INTO jobs.generation_jobs (ad_project_id, job_type, status, input_params, started_at,"
        " created_at, worker_losses) VALUES (%s, 'diagnostic', %s, %s,"
        " CASE WHEN %s = 'processing' THEN now() END, now() - interval '30 seconds', %s) RETURNING id",
        (project, status, json.dumps(params or {}), status, worker_losses),
    ).fetchone()[0]


# --- the service -------------------------------------------------------------------------------


async def test_dependencies_postgres_and_redis_are_ok(jobs_stub, redis_client):
    assert redis_client.ping()
    reply = await jobs_stub.CheckDependencies(dependencies_pb2.CheckDependenciesRequest())
    assert {d.name: d.ok for d in reply.dependencies} == {"postgres": True, "redis": True}


async def test_diagnostic_job_goes_from_queued_through_started_to_finished(
    stack, jobs_stub, db, redis_client
):
    project = str(uuid.uuid4())
    stack.stop_app("worker")
    try:
        job = await create(jobs_stub, project, payload_kb=32, hold_s=2)
        assert job.status == "pending" and job.ad_project_id == project and job.job_type == "diagnostic"
        assert row(db, job.id)["status"] == "pending"
        queued = Job.fetch(job.id, connection=redis_client)
        assert queued.get_status() == "queued"
        assert queued.timeout == 60  # the diagnostic's own job_timeout, not RQ's default 180 s
        assert list(queued.args) == [job.id]

        stack.start_app("worker")
        seen_rq, seen_row = set(), set()

        def finished():
            seen_rq.add(rq_status(redis_client, job.id))
            seen_row.add(row(db, job.id)["status"])
            return "completed" in seen_row and "finished" in seen_rq

        await wait_for(finished, "the job to finish", every_s=0.05)
    finally:
        ensure_worker(stack)

    assert {"started", "finished"} <= seen_rq  # queued was seen above, before the worker started
    assert {"processing", "completed"} <= seen_row
    done = row(db, job.id)
    assert done["error_message"] is None
    assert done["started_at"] <= done["finished_at"]
    result = done["result"]
    assert result["postgres"]["project_job_count"] == 1
    assert result["sha256"]["bytes"] == 32 * 1024 and len(result["sha256"]["digest"]) == 64
    assert result["hold"]["steps"] >= 2
    assert result["redis"]["nonce_round_trip_ms"] >= 0

    fetched = await jobs_stub.GetJob(jobs_pb2.GetJobRequest(id=job.id))
    assert fetched.status == "completed"
    assert json.loads(fetched.result_json) == result
    assert json.loads(fetched.input_params_json) == {"payload_kb": 32, "hold_s": 2}
    assert fetched.started_at.ToDatetime() <= fetched.finished_at.ToDatetime()


async def test_failing_job_ends_failed_with_its_message(jobs_stub, db, redis_client):
    job = await create(jobs_stub, str(uuid.uuid4()), fail_with="diagnostic asked to fail", payload_kb=1)
    failed = await wait_for_status(db, job.id, {"failed", "completed"})
    assert failed["status"] == "failed"
    # One readable sentence (no exception type); whose fault it was is a column of its own.
    assert failed["error_message"] == "The job failed: diagnostic asked to fail."
    assert failed["fault"] == "system"
    assert failed["finished_at"] is not None and failed["result"] is None
    await wait_for(lambda: rq_status(redis_client, job.id) == "failed", "RQ to record the failure")
    fetched = await jobs_stub.GetJob(jobs_pb2.GetJobRequest(id=job.id))
    assert (fetched.status, fetched.error_message) == ("failed", "The job failed: diagnostic asked to fail.")


@pytest.mark.parametrize(
    ("project", "job_type", "params_json", "message"),
    [
        ("", "diagnostic", "{}", "ad_project_id is required"),
        ("not-a-uuid", "diagnostic", "{}", "ad_project_id must be a UUID"),
        (None, "", "{}", "job_type is required"),
        (None, "scene", "{}", "no handler for job_type 'scene'"),
        (None, "teleport", "{}", "no handler for job_type 'teleport'"),
        (None, "diagnostic", "{not json", "not valid JSON"),
        (None, "diagnostic", "[1, 2]", "must be a JSON object"),
        (None, "diagnostic", json.dumps({"pad": "x" * 70_000}), "at most 65536"),
        (None, "diagnostic", '{"hold_s": 600}', "hold_s must be"),
        (None, "diagnostic", '{"payload_kb": "big"}', "payload_kb must be"),
        (None, "diagnostic", '{"fail_with": 1}', "fail_with must be"),
        (None, "diagnostic", '{"speed": 1}', "unknown diagnostic parameter(s): speed"),
    ],
)
async def test_bad_create_requests_are_invalid_argument_and_write_nothing(
    jobs_stub, db, project, job_type, params_json, message
):
    project = str(uuid.uuid4()) if project is None else project
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await jobs_stub.CreateJob(
            jobs_pb2.CreateJobRequest(ad_project_id=project, job_type=job_type, input_params_json=params_json)
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in err.value.details()
    if len(project) == 36:
        assert rows_of(db, project) == []


async def test_get_unknown_job_is_not_found_and_a_bad_id_is_invalid(jobs_stub):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await jobs_stub.GetJob(jobs_pb2.GetJobRequest(id=str(uuid.uuid4())))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    for bad in ("", "42", "not-a-uuid"):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await jobs_stub.GetJob(jobs_pb2.GetJobRequest(id=bad))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_malformed_project_or_generation_id_is_invalid_like_a_malformed_job_id(jobs_stub):
    """One status code for a malformed id in every service: INVALID_ARGUMENT (422 at the gateway)."""
    as_user = ((USER_ID_HEADER, str(uuid.uuid4())),)
    for bad in ("42", "not-a-uuid"):
        requests = [
            (jobs_stub.GetGeneration, jobs_pb2.GetGenerationRequest(ad_project_id=bad)),
            (
                jobs_stub.GetGeneration,
                jobs_pb2.GetGenerationRequest(ad_project_id=str(uuid.uuid4()), generation_id=bad),
            ),
            (jobs_stub.ListGenerations, jobs_pb2.ListGenerationsRequest(ad_project_id=bad)),
            (jobs_stub.CancelGeneration, jobs_pb2.GetGenerationRequest(ad_project_id=bad)),
        ]
        for call, request in requests:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call(request, metadata=as_user)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request
            assert "must be a UUID" in err.value.details()


async def test_list_jobs_returns_the_projects_jobs_newest_first(jobs_stub, db):
    project, other = str(uuid.uuid4()), str(uuid.uuid4())
    created = [(await create(jobs_stub, project, payload_kb=0)).id for _ in range(3)]
    await create(jobs_stub, other, payload_kb=0)
    listed = await jobs_stub.ListJobs(jobs_pb2.ListJobsRequest(ad_project_id=project))
    assert [j.id for j in listed.jobs] == list(reversed(created))
    assert {j.ad_project_id for j in listed.jobs} == {project}
    empty = await jobs_stub.ListJobs(jobs_pb2.ListJobsRequest(ad_project_id=str(uuid.uuid4())))
    assert list(empty.jobs) == []
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await jobs_stub.ListJobs(jobs_pb2.ListJobsRequest(ad_project_id="nope"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    for job_id in created:
        await wait_for_status(db, job_id, {"completed"})


# --- the reconciler ----------------------------------------------------------------------------


async def test_reconciler_enqueues_a_pending_row_that_has_no_rq_job(db):
    # Only the row is written, no RQ job (the reconciler may enqueue it before anything could look).
    job_id = str(insert_row(db, str(uuid.uuid4()), "pending", {"payload_kb": 1}))
    done = await wait_for_status(db, job_id, {"completed", "failed"})
    assert done["status"] == "completed"


async def test_reconciler_runs_again_a_processing_row_that_no_worker_runs(db):
    job_id = str(insert_row(db, str(uuid.uuid4()), "processing", {"payload_kb": 1}))
    done = await wait_for_status(db, job_id, {"failed", "completed"})
    assert (done["status"], done["error_message"], done["worker_losses"]) == ("completed", None, 1)


async def test_a_job_whose_worker_died_once_too_often_fails_with_a_readable_message(db):
    job_id = str(insert_row(db, str(uuid.uuid4()), "processing", worker_losses=MAX_WORKER_LOSSES))
    settled = await wait_for_status(db, job_id, {"failed", "pending", "completed"})
    assert settled["status"] == "failed"
    assert settled["error_message"] == (
        f"The job failed: the worker running it stopped unexpectedly {MAX_WORKER_LOSSES + 1} times;"
        " it is not run again."
    )
    assert (settled["fault"], settled["worker_losses"]) == ("system", MAX_WORKER_LOSSES + 1)
    assert settled["finished_at"] is not None


async def test_a_step_whose_worker_died_after_its_generation_ended_is_cancelled_not_run_again(db):
    project = str(uuid.uuid4())
    generation = db.execute(
        "INSERT INTO jobs.generations (ad_project_id, user_id, status, aspect, resolution, provider)"
        " VALUES (%s, %s, 'cancelled', '9:16', 360, 'local') RETURNING id",
        (project, str(uuid.uuid4())),
    ).fetchone()[0]
    step = db.execute(
        "INSERT INTO jobs.generation_jobs (ad_project_id, generation_id, name, job_type, status,"
        " input_params, started_at) VALUES (%s, %s, 'scene_1', 'scene', 'processing', %s, now())"
        " RETURNING id",
        (project, generation, json.dumps({"generation_id": str(generation), "n": 1})),
    ).fetchone()[0]
    settled = await wait_for_status(db, str(step), {"cancelled", "pending", "failed"})
    assert (settled["status"], settled["worker_losses"]) == ("cancelled", 1)


async def test_an_rq_job_enqueued_before_the_move_under_the_old_path_still_runs(stack, db, redis_client):
    ensure_worker(stack)
    # Created "in the future", so the reconciler never enqueues it itself: only the old-path job runs it.
    job_id = str(
        db.execute(
            "INSERT INTO jobs.generation_jobs (ad_project_id, job_type, status, input_params, created_at)"
            " VALUES (%s, 'diagnostic', 'pending', %s, now() + interval '1 hour') RETURNING id",
            (str(uuid.uuid4()), json.dumps({"payload_kb": 1})),
        ).fetchone()[0]
    )
    Queue("default", connection=redis_client).enqueue(
        "services.jobs.tasks.run_job",
        job_id,
        job_id=job_id,
        on_failure=Callback("services.jobs.tasks.on_job_failure"),
    )
    done = await wait_for_status(db, job_id, {"completed", "failed"})
    assert done["status"] == "completed"
    assert Job.fetch(job_id, connection=redis_client).func_name == "services.jobs.tasks.run_job"


async def test_a_plain_rq_worker_can_run_the_jobs(stack, jobs_stub, db):
    stack.stop_app("worker")
    try:
        job = await create(jobs_stub, str(uuid.uuid4()), payload_kb=4)
        rq_cli = Path(sys.executable).parent / "rq"
        burst = subprocess.run(
            [str(rq_cli), "worker", "--burst", "--url", stack.env["REDIS_URL"], "default"],
            env=stack.app_env(),
            cwd=ROOT,
            timeout=120,
            capture_output=True,
            text=True,
        )
        assert burst.returncode == 0, burst.stdout[-3000:] + burst.stderr[-3000:]
        assert row(db, job.id)["status"] == "completed"
    finally:
        ensure_worker(stack)


# --- faults ------------------------------------------------------------------------------------


async def test_job_created_while_redis_is_down_is_kept_pending_and_runs_when_it_returns(stack, jobs_stub, db):
    project = str(uuid.uuid4())
    jobs_log = stack.log_dir / "jobs.log"
    # The reconciler says when it starts failing, once: a streak left over from an earlier fault test
    # must have ended before this one starts.
    await wait_for(lambda: not reconciler_failing(jobs_log), "the reconciler to work again")
    after = log_size(jobs_log)
    stack.stop_backing_server("redis")
    try:
        deps = await jobs_stub.CheckDependencies(dependencies_pb2.CheckDependenciesRequest())
        assert {d.name: d.ok for d in deps.dependencies} == {"postgres": True, "redis": False}
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await create(jobs_stub, project, payload_kb=8)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "queue unavailable (redis)" in err.value.details()
        [kept] = rows_of(db, project)
        assert kept["status"] == "pending"
        assert str(kept["id"]) in err.value.details()
        # The reconciler, which would enqueue the row, fails against the dead Redis and keeps it.
        await wait_for_log_lines(jobs_log, "reconciler: tick failed", after)
        assert row(db, str(kept["id"]))["status"] == "pending"
    finally:
        stack.restart_backing_server("redis")
    done = await wait_for_status(db, str(kept["id"]), {"completed", "failed"})
    assert done["status"] == "completed"
    assert done["result"]["postgres"]["project_job_count"] == 1


async def test_worker_started_while_redis_is_down_serves_once_redis_is_back(stack, jobs_stub, db):
    worker_log = stack.log_dir / "worker.log"
    stack.stop_app("worker")
    stack.stop_backing_server("redis")
    try:
        after = log_size(worker_log)
        stack.start_app("worker")
        # RQ's start-up against the dead Redis fails, and the worker tries again rather than give up.
        await wait_for_log_lines(worker_log, "worker: Redis failed", after, count=2)
        assert stack.apps["worker"].running, "the worker gave up while Redis was down"
    finally:
        stack.restart_backing_server("redis")
        ensure_worker(stack)
    job = await create(jobs_stub, str(uuid.uuid4()), payload_kb=1)
    assert (await wait_for_status(db, job.id, {"completed", "failed"}))["status"] == "completed"


async def test_worker_killed_mid_job_runs_the_job_again_on_a_new_worker(stack, jobs_stub, db, redis_client):
    job = await create(jobs_stub, str(uuid.uuid4()), hold_s=6, payload_kb=1)
    await wait_for(
        lambda: row(db, job.id)["status"] == "processing" and rq_status(redis_client, job.id) == "started",
        "the job to be running",
    )
    progress = f"zapcut:jobs:diagnostic:{job.id}:steps"
    await wait_for(lambda: redis_client.get(progress), "the job's first step")
    stack.kill_app("worker")
    try:
        steps_at_kill = redis_client.get(progress)
        await asyncio.sleep(2)  # four steps' worth: a surviving work horse would have moved on
        assert redis_client.get(progress) == steps_at_kill, "the work horse outlived its worker"

        # With no worker running, the reconciler notices the loss and puts the job back in the queue.
        waiting = await wait_for_status(db, job.id, {"pending", "failed", "completed"})
        assert (waiting["status"], waiting["worker_losses"], waiting["error_message"]) == ("pending", 1, None)
        await wait_for(lambda: rq_status(redis_client, job.id) == "queued", "RQ to queue the job again")
    finally:
        ensure_worker(stack)

    done = await wait_for_status(db, job.id, {"completed", "failed"})
    assert (done["status"], done["worker_losses"]) == ("completed", 1)
    assert done["result"]["hold"]["steps"] >= 2
    after = await create(jobs_stub, str(uuid.uuid4()), payload_kb=1)
    assert (await wait_for_status(db, after.id, {"completed", "failed"}))["status"] == "completed"


async def test_a_job_whose_worker_died_between_dequeue_and_claim_runs_on_another_worker(
    stack, jobs_stub, db, redis_client
):
    """A worker SIGKILLed after taking the job off the queue and before its horse claimed the row:
    the row is still pending and RQ holds the job as started by a worker that sends no heartbeat."""
    stack.stop_app("worker")
    try:
        job = await create(jobs_stub, str(uuid.uuid4()), payload_kb=1)
        queue = Queue(stack.app_env().get("RQ_QUEUE", "default"), connection=redis_client)
        # RQ's own steps up to the fork, then nothing more: the worker "dies" here.
        doomed = Worker([queue], connection=redis_client, name=f"doomed-{uuid.uuid4().hex[:8]}")
        doomed.register_birth()
        taken = Queue.dequeue_any([queue], None, connection=redis_client)
        assert taken is not None and taken[0].id == job.id
        doomed.prepare_execution(taken[0])
        doomed.prepare_job_execution(taken[0])
        assert rq_status(redis_client, job.id) == "started" and row(db, job.id)["status"] == "pending"
    finally:
        ensure_worker(stack)

    done = await wait_for_status(db, job.id, {"completed", "failed"})
    assert (done["status"], done["error_message"]) == ("completed", None)
