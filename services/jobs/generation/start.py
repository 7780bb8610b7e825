"""StartGeneration (the jobs service; asyncio).

Starting is a short saga whose every step can be retried: the generation row is written first
(status charging; the partial unique index allows one active generation per project), then accounts
charges it (idempotent per generation id; a synchronous call, so the user hears 402 at once), then
one transaction marks it pending, writes all its step rows and the generation.started event (the
project becomes generating when accounts reads it), then the steps are enqueued (composite
depends_on the others). A crash between steps leaves a row the reconciler finishes or fails; a
Redis outage leaves pending rows it enqueues later, and the event in the outbox until it is
published.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import grpc
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.context import caller_id
from services.common.db import table_of
from services.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, Upstream
from services.common.ids import parse_id
from services.jobs.config import Settings
from services.jobs.generation import brand_kit, events
from services.jobs.generation.plan import check_aspects, check_format, make_plan, step_names
from services.jobs.models import Generation, GenerationJob, LoraModel
from services.jobs.queue import job_types, rq_jobs
from zapcut.accounts.v1 import accounts_pb2

log = logging.getLogger(__name__)

generations = table_of(Generation)
steps = table_of(GenerationJob)
loras = table_of(LoraModel)
MAX_IDEMPOTENCY_KEY = 200
# A new step's columns, spelled out: a reused one (launch's "done") sets some of them, and one
# multi-row INSERT needs the same columns in every row.
PENDING_STEP = {
    "status": "pending",
    "progress": 0,
    "attempts": 0,
    "output_url": None,
    "provider": None,
    "replicate_job_id": None,
    "result": None,
    "started_at": None,
    "finished_at": None,
}


async def start(
    engine: AsyncEngine,
    accounts,
    queue,
    settings: Settings,
    *,
    project_id: str,
    aspect: str,
    resolution: int,
    idempotency_key: str,
    aspects: list[str] | None = None,
) -> uuid.UUID:
    """`aspects`: every placement, the primary first (one generation, one charge); none: `aspect`."""
    user_id = caller_id()
    project = parse_id(project_id, "ad_project_id")
    aspects = check_aspects(aspect, list(aspects or []))
    aspect, resolution = check_format(aspects[0], resolution)
    if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidArgument(f"the idempotency key is longer than {MAX_IDEMPOTENCY_KEY} characters")
    if idempotency_key and (existing := await by_key(engine, user_id, idempotency_key)) is not None:
        if existing.ad_project_id != project:
            raise FailedPrecondition("this Idempotency-Key was used for another project")
        return existing.id

    try:
        given = await accounts.GetGenerationInput(accounts_pb2.GetProjectRequest(id=str(project)))
    except grpc.aio.AioRpcError as exc:
        raise Upstream(exc) from None
    scenes = [
        {
            "order": s.order,
            "description": s.description,
            "duration_s": s.duration_s,
            "on_screen_text": s.on_screen_text if s.HasField("on_screen_text") else None,
            "voiceover_text": s.voiceover_text if s.HasField("voiceover_text") else None,
        }
        for s in given.script.scenes
    ]
    plan = make_plan(
        scenes,
        [f.key for f in given.product_images],
        aspect,
        resolution,
        settings.generation_provider,
        brand=brand_kit.brand_entry(given),
        voice=brand_kit.voice_entry(given),
        music=brand_kit.music_entry(given),
        aspects=aspects,
        image_names=[f.filename for f in given.product_images],
    )
    # The brand's approved LoRA, for a provider whose video model takes one (replicate).
    plan["lora"] = await lora_weights(engine, uuid.UUID(given.project.brand_id))

    try:
        async with engine.begin() as conn:
            generation_id = await conn.scalar(
                insert(generations)
                .values(
                    ad_project_id=project,
                    user_id=user_id,
                    status="charging",
                    aspect=aspect,
                    resolution=resolution,
                    provider=settings.generation_provider,
                    idempotency_key=idempotency_key or None,
                    plan=plan,
                )
                .returning(generations.c.id)
            )
    except IntegrityError as exc:
        if idempotency_key and (existing := await by_key(engine, user_id, idempotency_key)) is not None:
            return existing.id  # the same request, retried concurrently
        if "uq_generations_active_project" in str(exc.orig):
            raise AlreadyExists("a generation for this project is still running") from None
        raise

    names = step_names(plan)
    await launch(
        engine,
        accounts,
        queue,
        settings,
        generation_id,
        user_id,
        project,
        [{"name": name, "job_type": job_type, "params": params} for name, job_type, params in names],
        charge=True,
    )
    return generation_id


async def launch(
    engine: AsyncEngine,
    accounts,
    queue,
    settings: Settings,
    generation_id: uuid.UUID,
    user_id: uuid.UUID,
    project: uuid.UUID,
    step_rows: list[dict],
    *,
    charge: bool,
) -> None:
    """From a generation row in status charging to its steps queued: the charge (when `charge`),
    then one transaction marking it pending with its step rows and generation.started, then the
    steps still to run enqueued (each composite waits on its placement's scenes and the audio).

    A step row is {name, job_type, params} and, for a step whose output an earlier version already
    made (services.jobs.generation.regenerate), the column values of a completed step."""
    kind = None
    if charge:
        try:
            kind = (
                await accounts.ChargeGeneration(
                    accounts_pb2.GenerationCharge(generation_id=str(generation_id))
                )
            ).kind
        except grpc.aio.AioRpcError as exc:
            payment = exc.code() == grpc.StatusCode.FAILED_PRECONDITION
            await _end(
                engine, generation_id, "rejected" if payment else "failed", exc.details() or exc.code().name
            )
            raise Upstream(exc) from None

    async with engine.begin() as conn:
        marked = await conn.execute(
            update(generations)
            .where(generations.c.id == generation_id, generations.c.status == "charging")
            .values(status="pending", charge=kind)
        )
        if marked.rowcount == 0:
            # Deleted meanwhile with its project (the deletion event), cancelled, or failed by the
            # reconciler: nothing will run, so a charge just taken is owed back.
            status = await conn.scalar(select(generations.c.status).where(generations.c.id == generation_id))
            if charge:
                await _owe_refund(engine, generation_id, user_id, project, status)
            if status is None:
                raise NotFound("project not found")
            raise FailedPrecondition(f"the generation ended while it was starting ({status}); try again")
        await conn.execute(events.started(generation_id, user_id, project))
        step_ids = (
            (
                await conn.execute(
                    insert(steps)
                    .values(
                        [
                            {
                                "ad_project_id": project,
                                "generation_id": generation_id,
                                "name": row["name"],
                                "job_type": row["job_type"],
                                "input_params": {"generation_id": str(generation_id), **row["params"]},
                                **PENDING_STEP,
                                **row.get("done", {}),
                            }
                            for row in step_rows
                        ]
                    )
                    .returning(steps.c.id)
                )
            )
            .scalars()
            .all()
        )
    to_run = [
        (str(i), row["job_type"], row["params"].get("aspect", ""))
        for i, row in zip(step_ids, step_rows, strict=True)
        if "done" not in row
    ]
    await enqueue_steps(queue, settings, to_run)
    log.info(
        "generation %s of project %s started (%s, %d steps to run)",
        generation_id,
        project,
        kind or "free",
        len(to_run),
    )


async def _owe_refund(
    engine: AsyncEngine, generation_id: uuid.UUID, user_id: uuid.UUID, project: uuid.UUID, status: str | None
) -> None:
    """The charge of a generation that ended while it was starting goes back: a generation.settled
    event of its own (accounts gives a charge back once, whatever else asked; a deleted user is owed
    nothing). The project never heard of the generation, so its status stays."""
    async with engine.begin() as conn:
        await conn.execute(
            events.settled(
                generation_id, user_id, project, status or "deleted", refund=True, project_status=None
            )
        )


async def lora_weights(engine: AsyncEngine, brand_id: uuid.UUID) -> str | None:
    async with engine.connect() as conn:
        return await conn.scalar(
            select(loras.c.model_url)
            .where(loras.c.brand_id == brand_id, loras.c.status == "completed", loras.c.user_approved)
            .order_by(loras.c.trained_at.desc())
            .limit(1)
        )


async def enqueue_steps(queue, settings: Settings, step_ids: list[tuple[str, str, str]]) -> None:
    """(id, job type, aspect) of every step to run ("" for the primary placement's, and for the
    audio every placement shares): the composites are enqueued last, each waiting (RQ depends_on)
    on its own placement's scenes and the audio. Redis down: the rows stay pending and the
    reconciler enqueues them when it is back."""
    ttl = settings.rq_failure_ttl_s
    others = [s for s in step_ids if s[1] != "composite"]
    composites = [s for s in step_ids if s[1] == "composite"]
    try:
        for step_id, job_type, _ in others:
            timeout = job_types.job_timeout_s(settings, job_type)
            await asyncio.to_thread(rq_jobs.enqueue, queue, step_id, timeout, ttl)
        for composite_id, composite_type, aspect in composites:
            timeout = job_types.job_timeout_s(settings, composite_type)
            waits_on = [i for i, job_type, a in others if a == aspect or job_type != "scene"]
            await asyncio.to_thread(rq_jobs.enqueue, queue, composite_id, timeout, ttl, depends_on=waits_on)
    except Exception as exc:  # noqa: BLE001 - kept pending; the reconciler enqueues later
        log.warning("generation steps kept pending: could not enqueue (%s)", exc)


async def by_key(engine: AsyncEngine, user_id: uuid.UUID, key: str):
    async with engine.connect() as conn:
        return (
            await conn.execute(
                select(generations).where(
                    generations.c.user_id == user_id, generations.c.idempotency_key == key
                )
            )
        ).one_or_none()


async def _end(engine: AsyncEngine, generation_id: uuid.UUID, status: str, message: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(generations)
            .where(generations.c.id == generation_id)
            .values(status=status, error_message=message[:2000], finished_at=func.now())
        )
