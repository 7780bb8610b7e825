"""Reading a project's generations with their steps (the jobs service; asyncio)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.context import caller_id
from services.common.db import table_of
from services.common.errors import NotFound
from services.common.ids import parse_id
from services.common.pagination import keyset_page, page_of
from services.jobs.models import Generation, GenerationJob, GenerationOutput

generations = table_of(Generation)
steps = table_of(GenerationJob)
outputs = table_of(GenerationOutput)


async def get(engine: AsyncEngine, project_id: str, generation_id: str = ""):
    """(generation row, step rows, output rows) of the caller's project: the one named, or the latest."""
    user_id = caller_id()
    project = parse_id(project_id, "ad_project_id")
    query = select(generations).where(
        generations.c.ad_project_id == project,
        generations.c.user_id == user_id,
        generations.c.status != "rejected",
    )
    if generation_id:
        query = query.where(generations.c.id == parse_id(generation_id, "generation_id"))
    query = query.order_by(generations.c.created_at.desc()).limit(1)
    async with engine.connect() as conn:
        gen = (await conn.execute(query)).one_or_none()
        if gen is None:
            raise NotFound("no generation for this project")
        rows = (
            await conn.execute(
                select(steps).where(steps.c.generation_id == gen.id).order_by(steps.c.created_at)
            )
        ).all()
        files = (await conn.execute(_outputs_of([gen.id]))).all()
    return gen, rows, files


async def list_page(engine: AsyncEngine, project_id: str, limit: int, cursor: str):
    """One page of the project's generations (each with its steps and outputs), newest first, and
    the next page's cursor ("" on the last): keyset-paged on (created_at, id), so a generation
    started meanwhile shifts nothing."""
    user_id = caller_id()
    project = parse_id(project_id, "ad_project_id")
    query = select(generations).where(
        generations.c.ad_project_id == project,
        generations.c.user_id == user_id,
        generations.c.status != "rejected",
    )
    async with engine.connect() as conn:
        fetched = (await conn.execute(keyset_page(query, generations.c, limit, cursor))).all()
        gens, next_cursor = page_of(fetched, limit)
        rows = (
            await conn.execute(
                select(steps)
                .where(steps.c.generation_id.in_([g.id for g in gens]))
                .order_by(steps.c.created_at)
            )
        ).all()
        files = (await conn.execute(_outputs_of([g.id for g in gens]))).all()
    by_generation: dict = {}
    for row in rows:
        by_generation.setdefault(row.generation_id, []).append(row)
    files_of: dict = {}
    for row in files:
        files_of.setdefault(row.generation_id, []).append(row)
    return [(g, by_generation.get(g.id, []), files_of.get(g.id, [])) for g in gens], next_cursor


def _outputs_of(generation_ids: list):
    return select(outputs).where(outputs.c.generation_id.in_(generation_ids)).order_by(outputs.c.created_at)
