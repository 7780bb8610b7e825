"""CancelGeneration (the jobs service; asyncio)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import grpc
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import table_of
from services.common.errors import FailedPrecondition
from services.jobs.generation import events, outcome
from services.jobs.generation.queries import get
from services.jobs.models import ACTIVE_GENERATION_STATUSES, Generation, GenerationJob
from zapcut.media.v1 import media_pb2

if TYPE_CHECKING:
    from zapcut.media.v1.media_pb2_grpc import MediaAsyncStub

log = logging.getLogger(__name__)

generations = table_of(Generation)
steps = table_of(GenerationJob)


async def cancel(engine: AsyncEngine, redis, media, project_id: str, generation_id: str = ""):
    """Queued steps never start, running ones stop at their next checkpoint, and what the steps
    stored is deleted: exactly the keys this generation's steps recorded, which hold its own id, so
    no other generation of the project loses a file. Cancelling an ended generation changes nothing
    (409)."""
    gen, _ = await get(engine, project_id, generation_id)
    async with engine.begin() as conn:
        # Writing the generation row first: a step storing an output holds it (FOR SHARE) while it
        # records its key, so the keys read below include every output stored before this commits,
        # and a step storing after it finds the generation cancelled and deletes its own output.
        changed = await conn.execute(
            update(generations)
            .where(generations.c.id == gen.id, generations.c.status.in_(ACTIVE_GENERATION_STATUSES))
            .values(status="cancelled", finished_at=func.now())
        )
        if changed.rowcount == 0:
            raise FailedPrecondition(f"the generation has already ended ({gen.status})")
        # The user's choice: not refunded; the project goes back to scripting.
        await conn.execute(
            events.settled(
                gen.id,
                gen.user_id,
                gen.ad_project_id,
                "cancelled",
                refund=False,
                project_status=events.PROJECT_STATUS_AFTER["cancelled"],
            )
        )
        waiting = (
            (
                await conn.execute(
                    update(steps)
                    .where(steps.c.generation_id == gen.id, steps.c.status == "pending")
                    .values(status="cancelled", finished_at=func.now(), error_message="generation cancelled")
                    .returning(steps.c.id)
                )
            )
            .scalars()
            .all()
        )
        # Any step's, finished or still running: a running step may have recorded its output already.
        stored = (
            (
                await conn.execute(
                    select(steps.c.output_url).where(
                        steps.c.generation_id == gen.id, steps.c.output_url.is_not(None)
                    )
                )
            )
            .scalars()
            .all()
        )
        # The voiceover step's captions are recorded on the generation, not on a step.
        captions = await conn.scalar(select(generations.c.captions_key).where(generations.c.id == gen.id))
        stored = [*stored, *([captions] if captions else [])]
    await asyncio.to_thread(outcome.cancel_rq_jobs, redis, [str(i) for i in waiting])
    deleted = await _delete_outputs(media, stored)
    if deleted:
        # The rows stop naming what is gone, so the history hands out no URL that answers 404.
        async with engine.begin() as conn:
            await conn.execute(
                update(steps)
                .where(steps.c.generation_id == gen.id, steps.c.output_url.in_(deleted))
                .values(output_url=None)
            )
            await conn.execute(
                update(generations)
                .where(generations.c.id == gen.id, generations.c.final_key.in_(deleted))
                .values(final_key=None)
            )
            await conn.execute(
                update(generations)
                .where(generations.c.id == gen.id, generations.c.captions_key.in_(deleted))
                .values(captions_key=None)
            )
    log.info("generation %s cancelled; deleted %d of its %d outputs", gen.id, len(deleted), len(stored))
    return gen.id


async def _delete_outputs(media: MediaAsyncStub, keys: Sequence[str]) -> list[str]:
    """Delete these objects through media; the keys that are gone (or were never there). One that
    could not be deleted now stays in its row, under its project's folder, and goes with the
    project."""
    gone = []
    for key in keys:
        try:
            await media.DeleteObject(media_pb2.ObjectRequest(ref=media_pb2.ObjectRef(key=key)))
        except grpc.aio.AioRpcError as exc:
            log.warning("could not delete %s of a cancelled generation: %s", key, exc.details())
        else:
            gone.append(key)
    return gone
