"""Removing what jobs holds for users, brands and projects that accounts deleted (deletion events):
generations with their steps, other jobs of the projects, LoRA models of the brands, the
objects the generations' steps stored, and webhooks: a deleted user's endpoints with their
deliveries, and the deliveries about a deleted project's generations or a deleted brand's LoRA.

A generation goes with its project, and with its user when the user is deleted (which also finds
generations of projects that were deleted before generations were removed with their project).
A refund it owes the user is not lost with it: the generation.settled event that owes it sits in
jobs' outbox, which no deletion touches, until accounts has it (a deleted project does not cancel a
debt; a deleted user is owed nothing, and accounts finds no charge to give back). Before its row
goes, the objects its steps recorded are deleted through media. media removes the project's
folders on the same event; deleting the recorded keys here as well also covers a step that stored
its output after media handled the event, and generations whose project id the event does not
list. A queued RQ job whose row is gone finds nothing to claim when it runs, and a running step
finds its generation gone at its next checkpoint and deletes what it stored.

Idempotent, since an event may arrive twice: a second delivery finds nothing left and succeeds. A
call that fails (media unreachable) fails the handler, and the event is retried.
"""

from __future__ import annotations

import logging
import uuid

import grpc
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.db import table_of
from services.common.events import Event, uuids
from services.jobs.models import Generation, GenerationJob, LoraModel, WebhookDelivery, WebhookEndpoint
from zapcut.media.v1 import media_pb2

log = logging.getLogger(__name__)

generations = table_of(Generation)
steps = table_of(GenerationJob)
loras = table_of(LoraModel)
webhook_endpoints = table_of(WebhookEndpoint)
webhook_deliveries = table_of(WebhookDelivery)

# media's answers that mean "nothing to delete under this key" rather than "try again later".
NOTHING_TO_DELETE = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)


async def delete_owned(engine: AsyncEngine, media, event: Event) -> None:
    project_ids, brand_ids = uuids(event.project_ids), uuids(event.brand_ids)
    user_ids = uuids([event.deleted_user_id] if event.deleted_user_id else [])
    owned = or_(generations.c.ad_project_id.in_(project_ids), generations.c.user_id.in_(user_ids))

    async with engine.connect() as conn:
        recorded = await _recorded_keys(conn, owned, project_ids)
    await _delete_objects(media, recorded)

    async with engine.begin() as conn:
        # The generation rows first, as everything that stops a generation does (see
        # services.jobs.generation.steps.Step.store); a key recorded since the read above comes back here.
        generation_ids = (
            (await conn.execute(select(generations.c.id).where(owned).with_for_update())).scalars().all()
        )
        removed_steps = (
            await conn.execute(
                delete(steps)
                .where(or_(steps.c.ad_project_id.in_(project_ids), steps.c.generation_id.in_(generation_ids)))
                .returning(steps.c.output_url)
            )
        ).all()
        removed_generations = (
            await conn.execute(
                delete(generations)
                .where(generations.c.id.in_(generation_ids))
                .returning(generations.c.final_key, generations.c.captions_key)
            )
        ).all()
        # Locked like the generations, so a fan-out of their events waits and then finds them gone.
        await conn.execute(select(loras.c.id).where(loras.c.brand_id.in_(brand_ids)).with_for_update())
        removed_loras = await conn.execute(delete(loras).where(loras.c.brand_id.in_(brand_ids)))
        # A user's endpoints take their deliveries with them (cascade).
        await conn.execute(delete(webhook_endpoints).where(webhook_endpoints.c.user_id.in_(user_ids)))
        await conn.execute(
            delete(webhook_deliveries).where(
                or_(
                    webhook_deliveries.c.project_id.in_(project_ids),
                    webhook_deliveries.c.brand_id.in_(brand_ids),
                )
            )
        )
        removed_keys = [key for row in [*removed_steps, *removed_generations] for key in row]
        late = {key for key in removed_keys if key} - set(recorded)
        await _delete_objects(media, sorted(late))  # before commit: a failure keeps the rows for the retry
    log.info(
        "%s %s: removed %d generations, %d jobs, %d LoRA models and %d stored outputs",
        event.type,
        event.aggregate_id,
        len(generation_ids),
        len(removed_steps),
        removed_loras.rowcount,
        len(recorded) + len(late),
    )


async def _recorded_keys(conn: AsyncConnection, owned, project_ids: list[uuid.UUID]) -> list[str]:
    owned_ids = select(generations.c.id).where(owned)
    step_keys = select(steps.c.output_url).where(
        or_(steps.c.ad_project_id.in_(project_ids), steps.c.generation_id.in_(owned_ids)),
        steps.c.output_url.is_not(None),
    )
    final_keys = select(generations.c.final_key).where(owned, generations.c.final_key.is_not(None))
    captions_keys = select(generations.c.captions_key).where(owned, generations.c.captions_key.is_not(None))
    rows = await conn.execute(step_keys.union(final_keys, captions_keys))
    return sorted(key for (key,) in rows)


async def _delete_objects(media, keys: list[str]) -> None:
    for key in keys:
        try:
            await media.DeleteObject(media_pb2.ObjectRequest(ref=media_pb2.ObjectRef(key=key)))
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in NOTHING_TO_DELETE:
                raise
            log.warning("not deleting %r: %s", key, exc.details())
