"""generation_jobs rows as the API and the reconciler read and write them (asyncio engine).

The row is the source of truth for a job. Writes that follow a job's life are conditional on the
status they expect, so two writers racing (a worker finishing, the reconciler giving up on it)
cannot overwrite each other's outcome.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Row, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import table_of
from services.jobs.models import GenerationJob

jobs = table_of(GenerationJob)


async def insert_pending(engine: AsyncEngine, ad_project_id: uuid.UUID, job_type: str, params: dict) -> Row:
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(jobs)
            .values(ad_project_id=ad_project_id, job_type=job_type, input_params=params, status="pending")
            .returning(*jobs.c)
        )
        return result.one()


async def get(engine: AsyncEngine, job_id: uuid.UUID) -> Row | None:
    async with engine.connect() as conn:
        return (await conn.execute(select(jobs).where(jobs.c.id == job_id))).one_or_none()


async def list_for_project(engine: AsyncEngine, ad_project_id: uuid.UUID) -> list[Row]:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(jobs)
            .where(jobs.c.ad_project_id == ad_project_id)
            .order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        )
        return list(result)


# --- for the reconciler --------------------------------------------------------------------------


async def pending_page(
    engine: AsyncEngine, older_than_s: float, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Row]:
    """Pending rows created over older_than_s ago, oldest first, after the (created_at, id) cursor."""
    siblings = jobs.alias("siblings")
    # A generation's composite is enqueued here only once the steps it reads are done (its
    # placement's scenes, the audio every placement shares); normally it was enqueued with RQ
    # depends_on at the start and never shows up here.
    composite_not_ready = (jobs.c.job_type == "composite") & (
        select(siblings.c.id)
        .where(
            siblings.c.generation_id == jobs.c.generation_id,
            siblings.c.job_type != "composite",
            siblings.c.status != "completed",
            (siblings.c.job_type != "scene") | (_placement(siblings) == _placement(jobs)),
        )
        .exists()
    )
    query = (
        select(jobs.c.id, jobs.c.job_type, jobs.c.created_at)
        .where(jobs.c.status == "pending")
        .where(~composite_not_ready)
        .where(jobs.c.created_at < func.now() - timedelta(seconds=older_than_s))
        .order_by(jobs.c.created_at, jobs.c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(jobs.c.created_at, jobs.c.id) > tuple_(*after))
    async with engine.connect() as conn:
        return list(await conn.execute(query))


def _placement(table):
    """A step's aspect; "" for the primary placement's (whose params name none)."""
    return func.coalesce(table.c.input_params["aspect"].astext, "")


async def processing(engine: AsyncEngine, limit: int) -> list[Row]:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(jobs.c.id, jobs.c.started_at)
            .where(jobs.c.status == "processing")
            .order_by(jobs.c.started_at)
            .limit(limit)
        )
        return list(result)
