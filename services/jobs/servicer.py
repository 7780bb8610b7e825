"""gRPC servicer of jobs: translates between protobuf and the domain modules."""

from __future__ import annotations

import asyncio
import json

from redis import Redis
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import ping
from services.common.errors import NotFound
from services.common.probes import check_all
from services.jobs import job_records, rq_jobs
from services.jobs.config import Settings
from services.jobs.create_job import create_job
from zapcut.jobs.v1 import jobs_pb2, jobs_pb2_grpc


class JobsServicer(jobs_pb2_grpc.JobsServicer):
    def __init__(self, engine: AsyncEngine, redis: Redis, settings: Settings):
        self.engine = engine
        self.redis = redis
        self.settings = settings
        self.queue = rq_jobs.queue(redis, settings)

    async def CreateJob(self, request, context):
        row = await create_job(
            self.engine,
            self.queue,
            self.settings,
            ad_project_id=request.ad_project_id,
            job_type=request.job_type,
            input_params_json=request.input_params_json,
        )
        return job_message(row)

    async def GetJob(self, request, context):
        job_id = job_records.parse_uuid(request.id, "id")
        row = await job_records.get(self.engine, job_id)
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return job_message(row)

    async def ListJobs(self, request, context):
        project_id = job_records.parse_uuid(request.ad_project_id, "ad_project_id")
        rows = await job_records.list_for_project(self.engine, project_id)
        return jobs_pb2.ListJobsResponse(jobs=[job_message(row) for row in rows])

    async def CheckDependencies(self, request, context):
        return await check_all(
            {"postgres": lambda: ping(self.engine), "redis": lambda: asyncio.to_thread(self.redis.ping)},
            self.settings.probe_timeout_s,
        )


def job_message(row: Row) -> jobs_pb2.Job:
    message = jobs_pb2.Job(
        id=str(row.id),
        ad_project_id=str(row.ad_project_id),
        job_type=row.job_type,
        status=row.status,
        input_params_json=json.dumps(row.input_params),
        result_json=json.dumps(row.result) if row.result is not None else "",
        output_url=row.output_url or "",
        error_message=row.error_message or "",
        replicate_job_id=row.replicate_job_id or "",
    )
    for field in ("created_at", "updated_at", "started_at", "finished_at"):
        value = getattr(row, field)
        if value is not None:
            getattr(message, field).FromDatetime(value)
    return message
