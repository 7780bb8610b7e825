"""The floors the lean-path targets are ratios against, started by the bench beside the stack:
the single-process FastAPI app (bench.monolith) on a free port, served as uvicorn serves the
gateway, and a bare RQ worker (the jobs worker itself, `python -m services.jobs.worker`, on a queue
of its own) running no-op jobs. Then the two job throughputs, each end to end: bare RQ (enqueue ->
finished) and diagnostic jobs (jobs' CreateJob -> worker -> completed)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

import grpc
from redis import Redis
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, FinishedJobRegistry

from bench.load import TERMINAL_JOB_STATES, CallFailed
from bench.noop import noop
from bench.stats import Samples
from devstack.processes import ManagedProcess, free_port, wait_for_port
from devstack.stack import GATEWAY_UVICORN_OPTIONS
from zapcut.jobs.v1 import jobs_pb2, jobs_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
POLL_S = 0.01  # how often both job rows look for their jobs' ends
CREATE_CONCURRENCY = 8  # CreateJob calls in flight while the diagnostic jobs are submitted
WORKER_START_S = 30


def _process(name: str, argv: list[str], env: dict[str, str]) -> ManagedProcess:
    return ManagedProcess(
        name, argv, env=env | {"PYTHONUNBUFFERED": "1"}, cwd=ROOT, log_file=Path(os.devnull)
    )


def start_monolith(env: dict[str, str]) -> tuple[ManagedProcess, str]:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "bench.monolith:app", "--host", "127.0.0.1", "--port", str(port)]
    proc = _process("bench-monolith", [*argv, *GATEWAY_UVICORN_OPTIONS], env).start()
    wait_for_port(port, 30, proc)
    return proc, f"http://127.0.0.1:{port}"


def start_bare_worker(env: dict[str, str]) -> tuple[ManagedProcess, str]:
    """The jobs worker (same class, settings and Redis) on a queue only the bench uses."""
    queue = f"bench-noop-{uuid.uuid4().hex[:8]}"
    proc = _process(
        "bench-rq-worker", [sys.executable, "-m", "services.jobs.worker"], env | {"RQ_QUEUE": queue}
    )
    proc.start()
    redis = Redis.from_url(env["REDIS_URL"])
    try:
        give_up = time.monotonic() + WORKER_START_S
        while not Worker.all(connection=redis, queue=Queue(queue, connection=redis)):
            if time.monotonic() > give_up or proc.popen is None or proc.popen.poll() is not None:
                proc.stop()
                raise RuntimeError(f"the bare RQ worker did not start within {WORKER_START_S} s")
            time.sleep(0.1)
    finally:
        redis.close()
    return proc, queue


def bare_rq_throughput(redis_url: str, queue_name: str, count: int, max_s: float) -> Samples:
    """Enqueue `count` no-op jobs at once, wait until the worker has finished them all; each job's
    enqueue -> ended time is a sample, count / wall time the throughput."""
    redis = Redis.from_url(redis_url)
    try:
        queue = Queue(queue_name, connection=redis)
        finished, failed = FinishedJobRegistry(queue=queue), FailedJobRegistry(queue=queue)
        samples = Samples()
        ended_before = finished.count + failed.count  # the warm-up's, when this is the measured run
        started = time.perf_counter()
        jobs = [queue.enqueue(noop, result_ttl=600) for _ in range(count)]
        deadline = started + max_s
        while finished.count + failed.count - ended_before < count and time.perf_counter() < deadline:
            time.sleep(POLL_S)
        samples.wall_s = time.perf_counter() - started
        for job in jobs:
            job.refresh()
            if job.get_status() == "finished" and job.ended_at and job.enqueued_at:
                samples.ok((job.ended_at - job.enqueued_at).total_seconds())
            else:
                samples.failed(f"no-op job {job.get_status()}")
        return samples
    finally:
        redis.close()


async def diagnostic_throughput(channel: grpc.aio.Channel, count: int, max_s: float) -> Samples:
    """Create `count` diagnostic jobs (a few CreateJob calls at once), then wait for all to end;
    each job's created -> finished time (the row's timestamps) is a sample."""
    stub = jobs_pb2_grpc.JobsStub(channel)
    samples = Samples()
    slots = asyncio.Semaphore(CREATE_CONCURRENCY)

    async def create() -> jobs_pb2.Job:
        async with slots:
            return await stub.CreateJob(
                jobs_pb2.CreateJobRequest(
                    ad_project_id=str(uuid.uuid4()), job_type="diagnostic", input_params_json=""
                )
            )

    started = time.perf_counter()
    deadline = started + max_s
    try:
        pending = {job.id: job for job in await asyncio.gather(*(create() for _ in range(count)))}
    except grpc.aio.AioRpcError as exc:
        samples.failed(f"CreateJob: {exc.code().name}: {exc.details()}")
        return samples
    ended: list[jobs_pb2.Job] = []
    while pending and time.perf_counter() < deadline:
        for job_id in list(pending):
            job = await stub.GetJob(jobs_pb2.GetJobRequest(id=job_id))
            if job.status in TERMINAL_JOB_STATES:
                ended.append(job)
                del pending[job_id]
        if pending:
            await asyncio.sleep(POLL_S)
    samples.wall_s = time.perf_counter() - started
    for job in ended:
        if job.status == "completed":
            samples.ok((job.finished_at.ToDatetime() - job.created_at.ToDatetime()).total_seconds())
        else:
            samples.failed(f"job {job.status}: {job.error_message}")
    for _ in pending:
        samples.failed(str(CallFailed(f"job not finished within {max_s:.0f} s (is a worker running?)")))
    return samples
