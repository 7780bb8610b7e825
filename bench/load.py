"""The measurements: closed-loop load at a fixed concurrency, bounded by a request count and a
time limit, and the sequential gRPC scenarios (job start delay, S3 operations through media)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING

import grpc
import httpx
from grpc_health.v1 import health_pb2

from bench.stats import Samples
from services.common.grpc_client import health_check
from zapcut.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from zapcut.media.v1 import media_pb2, media_pb2_grpc

if TYPE_CHECKING:
    from zapcut.jobs.v1.jobs_pb2_grpc import JobsAsyncStub

TERMINAL_JOB_STATES = ("completed", "failed", "cancelled")


class CallFailed(Exception):
    pass


async def measure(
    calls: Sequence[Callable[[], Awaitable[object]]], *, requests: int, max_s: float
) -> Samples:
    """Closed-loop load: one task per entry of `calls` (the concurrency), each waiting for its
    answer before its next call, `requests` calls in all or until `max_s`; failures are counted,
    not timed."""
    samples = Samples()
    remaining = requests
    deadline = time.perf_counter() + max_s

    async def one_client(call: Callable[[], Awaitable[object]]) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            started = time.perf_counter()
            try:
                await call()
            except (CallFailed, httpx.HTTPError, grpc.aio.AioRpcError, OSError) as exc:
                samples.failed(_why(exc))
                continue
            samples.ok(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one_client(call) for call in calls))
    samples.wall_s = time.perf_counter() - started
    return samples


@asynccontextmanager
async def http_clients(
    base_url: str, count: int, headers: dict[str, str] | None = None, timeout_s: float = 5
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One client (one keep-alive connection) per concurrent task: a single httpx pool shared by
    32 tasks spends more time on its own locking than the requests take."""
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout_s)
            )
            for _ in range(count)
        ]


def _why(exc: Exception) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    return str(exc) or type(exc).__name__


def http_get(client: httpx.AsyncClient, path: str) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        response = await client.get(path)
        if response.status_code != 200:
            raise CallFailed(f"HTTP {response.status_code} from {path}")

    return call


def tcp_connect(host: str, port: int) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        _reader, writer = await asyncio.open_connection(host, port)
        writer.close()
        await writer.wait_closed()

    return call


def grpc_health(channel: grpc.aio.Channel, timeout_s: float = 1.0) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        reply = await health_check(channel, timeout_s)
        if reply.status != health_pb2.HealthCheckResponse.SERVING:
            raise CallFailed(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))

    return call


async def job_start_delays(
    channel: grpc.aio.Channel, count: int, max_s: float, job_timeout_s: float = 30.0
) -> tuple[Samples, Samples]:
    """Create diagnostic jobs one at a time; for each, poll GetJob until it ends. Returns the delays
    from the row's created_at to the worker's started_at, and from created_at to finished_at."""
    stub = jobs_pb2_grpc.JobsStub(channel)
    to_start, to_finish = Samples(), Samples()
    deadline = time.perf_counter() + max_s
    for _ in range(count):
        if time.perf_counter() >= deadline:
            break
        try:
            job = await stub.CreateJob(
                jobs_pb2.CreateJobRequest(
                    ad_project_id=str(uuid.uuid4()), job_type="diagnostic", input_params_json=""
                )
            )
            job = await _wait_for_end(stub, job, job_timeout_s)
        except (CallFailed, grpc.aio.AioRpcError) as exc:
            to_start.failed(_why(exc))
            if to_start.count == 0:
                break  # no worker is taking jobs: waiting for more would only repeat this
            continue
        if job.status != "completed":
            to_start.failed(f"job {job.status}: {job.error_message}")
            continue
        created = job.created_at.ToDatetime()
        to_start.ok((job.started_at.ToDatetime() - created).total_seconds())
        to_finish.ok((job.finished_at.ToDatetime() - created).total_seconds())
    return to_start, to_finish


async def _wait_for_end(stub: JobsAsyncStub, job: jobs_pb2.Job, timeout_s: float) -> jobs_pb2.Job:
    give_up = time.perf_counter() + timeout_s
    while job.status not in TERMINAL_JOB_STATES:
        if time.perf_counter() >= give_up:
            raise CallFailed(f"job still {job.status} after {timeout_s:.0f} s (is a worker running?)")
        await asyncio.sleep(0.01)
        job = await stub.GetJob(jobs_pb2.GetJobRequest(id=job.id))
    return job


S3_OPERATIONS = ("UploadObject", "PresignDownload", "ObjectExists", "DeleteObject")


async def s3_operations(
    channel: grpc.aio.Channel, rounds: int, max_s: float, size: int = 4096
) -> dict[str, Samples]:
    """Upload a small object through media, presign it, check it exists, delete it; each timed."""
    stub = media_pb2_grpc.MediaStub(channel)
    results = {name: Samples() for name in S3_OPERATIONS}
    payload = bytes(range(256)) * (size // 256)
    deadline = time.perf_counter() + max_s
    for i in range(rounds):
        if time.perf_counter() >= deadline:
            break
        ref = media_pb2.ObjectRef(
            brand_asset=media_pb2.BrandAsset(brand_id=str(uuid.uuid4()), name=f"bench-{i}.bin")
        )
        header = media_pb2.UploadHeader(
            ref=ref, content_type="application/octet-stream", expected_size=len(payload)
        )
        upload = [
            media_pb2.UploadObjectRequest(header=header),
            media_pb2.UploadObjectRequest(chunk=payload),
            media_pb2.UploadObjectRequest(finish=media_pb2.UploadFinish()),
        ]
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("UploadObject", partial(stub.UploadObject, iter(upload))),
            ("PresignDownload", partial(stub.PresignDownload, media_pb2.PresignDownloadRequest(ref=ref))),
            ("ObjectExists", partial(stub.ObjectExists, media_pb2.ObjectRequest(ref=ref))),
            ("DeleteObject", partial(stub.DeleteObject, media_pb2.ObjectRequest(ref=ref))),
        ]
        for name, step in steps:
            started = time.perf_counter()
            try:
                await step()
            except grpc.aio.AioRpcError as exc:
                results[name].failed(_why(exc))
                if name == "UploadObject":
                    break  # nothing stored: the other three would only measure NOT_FOUND
                continue
            results[name].ok(time.perf_counter() - started)
    return results
