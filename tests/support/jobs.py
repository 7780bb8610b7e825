"""The jobs service as tests drive it: diagnostic jobs created over gRPC, their rows in PostgreSQL,
and bounded polls until they reach a status."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from psycopg.rows import dict_row

from zapcut.jobs.v1 import jobs_pb2

WAIT_S = 90


async def create(jobs_stub, project: str, **params) -> jobs_pb2.Job:
    return await jobs_stub.CreateJob(
        jobs_pb2.CreateJobRequest(
            ad_project_id=project, job_type="diagnostic", input_params_json=json.dumps(params)
        )
    )


def row(db, job_id: str) -> dict:
    with db.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM jobs.generation_jobs WHERE id = %s", (job_id,)).fetchone()


async def wait_for(check, what: str, timeout_s: float = WAIT_S, every_s: float = 0.1):
    """Poll check() until it returns something truthy; fail naming `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(every_s)


async def wait_for_status(db, job_id: str, statuses: set[str]) -> dict:
    return await wait_for(
        lambda: (r := row(db, job_id)) and r["status"] in statuses and r,
        f"job {job_id} to reach {sorted(statuses)}",
    )
