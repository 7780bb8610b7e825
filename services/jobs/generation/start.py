"""Starting, reading and cancelling generations (the jobs service's side; asyncio).

Starting is a short saga whose every step can be retried: the generation row is written first
(status charging; the partial unique index allows one active generation per project), then accounts
charges it (idempotent per generation id), then one transaction marks it pending and writes all its
step rows, then the steps are enqueued (composite depends_on the others). A crash between steps
leaves a row the reconciler finishes or fails; a Redis outage leaves pending rows it enqueues later.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import grpc
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.context import user_id_var
from services.common.errors import (
    ERROR_REASON_TRAILER,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ServiceError,
    Unauthenticated,
)
from services.jobs import generation_outcome, rq_jobs
from services.jobs.config import Settings
from services.jobs.generation_plan import check_format, make_plan, step_names
from services.jobs.models import ACTIVE_GENERATION_STATUSES, Generation, GenerationJob, LoraModel
from zapcut.accounts.v1 import accounts_pb2
from zapcut.media.v1 import media_pb2

log = logging.getLogger(__name__)

generations = Generation.__table__
steps = GenerationJob.__table__
loras = LoraModel.__table__
MAX_IDEMPOTENCY_KEY = 200


def caller() -> uuid.UUID:
    try:
        return uuid.UUID(user_id_var.get() or "")
    except ValueError:
        raise Unauthenticated("no authenticated user on this call") from None


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise NotFound(f"{what} not found") from None


class Upstream(ServiceError):
    """An error from accounts, passed on with its code, message and reason."""

    def __init__(self, exc: grpc.aio.AioRpcError):
        super().__init__(exc.details() or exc.code().name)
        self.code = exc.code()
        self.trailers = tuple((k, v) for k, v in (exc.trailing_metadata() or ()) if k == ERROR_REASON_TRAILER)


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
) -> uuid.UUID:
    user_id = caller()
    project = _uuid(project_id, "project")
    aspect, resolution = check_format(aspect, resolution)
    if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidArgument(f"the idempotency key is longer than {MAX_IDEMPOTENCY_KEY} characters")
    if idempotency_key and (existing := await _by_key(engine, user_id, idempotency_key)) is not None:
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
        scenes, [f.key for f in given.product_images], aspect, resolution, settings.generation_provider
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
        if idempotency_key and (existing := await _by_key(engine, user_id, idempotency_key)) is not None:
            return existing.id  # the same request, retried concurrently
        if "uq_generations_active_project" in str(exc.orig):
            raise AlreadyExists("a generation for this project is still running") from None
        raise

    try:
        charge = await accounts.ChargeGeneration(
            accounts_pb2.GenerationCharge(generation_id=str(generation_id))
        )
    except grpc.aio.AioRpcError as exc:
        payment = exc.code() == grpc.StatusCode.FAILED_PRECONDITION
        await _end(
            engine, generation_id, "rejected" if payment else "failed", exc.details() or exc.code().name
        )
        raise Upstream(exc) from None

    names = step_names(plan)
    async with engine.begin() as conn:
        marked = await conn.execute(
            update(generations)
            .where(generations.c.id == generation_id, generations.c.status == "charging")
            .values(status="pending", charge=charge.kind, project_status_due="generating")
        )
        if marked.rowcount == 0:
            # Deleted meanwhile with its project (the deletion event), or failed by the reconciler:
            # nothing will run, so the charge just taken goes back (a no-op if it already went).
            status = await conn.scalar(select(generations.c.status).where(generations.c.id == generation_id))
            await _refund_now(accounts, generation_id)
            if status is None:
                raise NotFound("project not found")
            raise FailedPrecondition(f"the generation ended while it was starting ({status}); try again")
        step_ids = (
            (
                await conn.execute(
                    insert(steps)
                    .values(
                        [
                            {
                                "ad_project_id": project,
                                "generation_id": generation_id,
                                "name": name,
                                "job_type": job_type,
                                "input_params": {"generation_id": str(generation_id), **params},
                                "status": "pending",
                            }
                            for name, job_type, params in names
                        ]
                    )
                    .returning(steps.c.id)
                )
            )
            .scalars()
            .all()
        )
    # Before any step can run, so a fast generation's "completed" never lands before "generating".
    await _mark_project_generating(engine, accounts, generation_id, project)
    await enqueue_steps(queue, settings, [str(i) for i in step_ids])
    log.info(
        "generation %s of project %s started (%s, %d steps)", generation_id, project, charge.kind, len(names)
    )
    return generation_id


async def _refund_now(accounts, generation_id: uuid.UUID) -> None:
    try:
        await accounts.RefundGeneration(accounts_pb2.GenerationCharge(generation_id=str(generation_id)))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:  # the user is gone too
            return
        log.error("generation %s ended while starting; its charge was NOT given back: %s", generation_id, exc)
        raise Upstream(exc) from None


async def _mark_project_generating(engine: AsyncEngine, accounts, generation_id: uuid.UUID, project) -> None:
    try:
        await accounts.SetProjectStatus(
            accounts_pb2.SetProjectStatusRequest(id=str(project), status="generating")
        )
    except grpc.aio.AioRpcError as exc:
        log.warning(
            "generation %s: project status not set yet (%s); the reconciler retries", generation_id, exc
        )
        return
    async with engine.begin() as conn:
        await conn.execute(
            update(generations)
            .where(generations.c.id == generation_id, generations.c.project_status_due == "generating")
            .values(project_status_due=None)
        )


async def lora_weights(engine: AsyncEngine, brand_id: uuid.UUID) -> str | None:
    async with engine.connect() as conn:
        return await conn.scalar(
            select(loras.c.model_url)
            .where(loras.c.brand_id == brand_id, loras.c.status == "completed", loras.c.user_approved)
            .order_by(loras.c.trained_at.desc())
            .limit(1)
        )


async def enqueue_steps(queue, settings: Settings, step_ids: list[str]) -> None:
    """The last id is the composite: it waits (RQ depends_on) on all the others. Redis down: the
    rows stay pending and the reconciler enqueues them when it is back."""
    timeout = settings.generation_step_timeout_s
    try:
        for step_id in step_ids[:-1]:
            await asyncio.to_thread(rq_jobs.enqueue, queue, step_id, timeout, settings.rq_failure_ttl_s)
        await asyncio.to_thread(
            rq_jobs.enqueue, queue, step_ids[-1], timeout, settings.rq_failure_ttl_s, depends_on=step_ids[:-1]
        )
    except Exception as exc:  # noqa: BLE001 - kept pending; the reconciler enqueues later
        log.warning("generation steps kept pending: could not enqueue (%s)", exc)


async def _by_key(engine: AsyncEngine, user_id: uuid.UUID, key: str):
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


async def get(engine: AsyncEngine, project_id: str, generation_id: str = ""):
    """(generation row, step rows) of the caller's project: the one named, or the latest."""
    user_id = caller()
    project = _uuid(project_id, "project")
    query = select(generations).where(
        generations.c.ad_project_id == project,
        generations.c.user_id == user_id,
        generations.c.status != "rejected",
    )
    if generation_id:
        query = query.where(generations.c.id == _uuid(generation_id, "generation"))
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
    return gen, rows


async def list_all(engine: AsyncEngine, project_id: str):
    user_id = caller()
    project = _uuid(project_id, "project")
    async with engine.connect() as conn:
        gens = (
            await conn.execute(
                select(generations)
                .where(
                    generations.c.ad_project_id == project,
                    generations.c.user_id == user_id,
                    generations.c.status != "rejected",
                )
                .order_by(generations.c.created_at.desc())
                .limit(100)
            )
        ).all()
        rows = (
            await conn.execute(
                select(steps)
                .where(steps.c.generation_id.in_([g.id for g in gens]))
                .order_by(steps.c.created_at)
            )
        ).all()
    by_generation: dict = {}
    for row in rows:
        by_generation.setdefault(row.generation_id, []).append(row)
    return [(g, by_generation.get(g.id, [])) for g in gens]


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
            .values(status="cancelled", finished_at=func.now(), project_status_due="scripting")
        )
        if changed.rowcount == 0:
            raise FailedPrecondition(f"the generation has already ended ({gen.status})")
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
    await asyncio.to_thread(generation_outcome.cancel_rq_jobs, redis, [str(i) for i in waiting])
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
    log.info("generation %s cancelled; deleted %d of its %d outputs", gen.id, len(deleted), len(stored))
    return gen.id


async def _delete_outputs(media, keys: list[str]) -> list[str]:
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
