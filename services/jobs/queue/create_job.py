"""CreateJob: validate, write the row (pending) and commit, then enqueue its RQ job.

The commit comes first so that a job is never in Redis without its row. If Redis is down the row
stays pending, the caller gets UNAVAILABLE, and the reconciler enqueues the job once Redis is back.
"""

from __future__ import annotations

import asyncio
import json
import logging

from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.errors import InvalidArgument, Unavailable
from services.common.ids import parse_id
from services.jobs.config import Settings
from services.jobs.queue import job_records, job_types, rq_jobs

log = logging.getLogger(__name__)

MAX_PARAMS_BYTES = 64 * 1024


async def create_job(
    engine: AsyncEngine,
    rq_queue: Queue,
    settings: Settings,
    *,
    ad_project_id: str,
    job_type: str,
    input_params_json: str,
) -> Row:
    project_id = parse_id(ad_project_id, "ad_project_id")
    kind = job_types.job_type(job_type)
    params = parse_params(input_params_json)
    kind.validate_params(params)

    row = await job_records.insert_pending(engine, project_id, job_type, params)
    job_id = str(row.id)
    try:
        await asyncio.to_thread(
            rq_jobs.enqueue, rq_queue, job_id, kind.timeout_s(settings), settings.rq_failure_ttl_s
        )
    except RedisError as exc:
        log.warning("job %s kept pending: could not enqueue (%s: %s)", job_id, type(exc).__name__, exc)
        raise Unavailable(
            f"queue unavailable (redis): job {job_id} is kept pending and will run when Redis is back"
        ) from exc
    log.info("job %s (%s) created for project %s", job_id, job_type, project_id)
    return row


def parse_params(text: str) -> dict:
    """input_params_json -> a JSON object Postgres' JSONB will take; empty means {}."""
    size = len(text.encode())
    if size > MAX_PARAMS_BYTES:
        raise InvalidArgument(f"input_params_json is {size} bytes; at most {MAX_PARAMS_BYTES} are allowed")
    if not text.strip():
        return {}
    try:
        params = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:  # JSONDecodeError, and the NaN/Infinity refusal below
        raise InvalidArgument(f"input_params_json is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidArgument("input_params_json is nested too deeply") from None
    if not isinstance(params, dict):
        raise InvalidArgument(f"input_params_json must be a JSON object, not {type(params).__name__}")
    _reject_nul(params)
    return params


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _reject_nul(value) -> None:
    # JSONB cannot store U+0000; refuse it here rather than fail at the insert.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and "\x00" in item:
            raise InvalidArgument("input_params_json must not contain the character U+0000")
