"""LoRA models of a brand: start a training, read the latest, approve or reject it (the jobs
service; asyncio).

The lora_models row is the source of truth; the training runs in an RQ job (the lora_training job
type, services.jobs.lora.training) that starts it at Replicate and follows it to the end. The
reconciler re-enqueues a row whose job was lost, and the job picks up the training it had already
started (training_job_id)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import grpc
from rq import Queue
from rq.job import Job
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.context import caller_id
from services.common.db import table_of
from services.common.errors import AlreadyExists, FailedPrecondition, NotFound, Upstream
from services.jobs.config import Settings
from services.jobs.models import LoraModel
from services.jobs.queue import job_types, rq_jobs
from zapcut.accounts.v1 import accounts_pb2

log = logging.getLogger(__name__)

loras = table_of(LoraModel)
MIN_IMAGES = 5


def check_configured(settings: Settings) -> None:
    if settings.replicate_api_token is None or not settings.replicate_lora_destination_owner:
        raise FailedPrecondition(
            "LoRA training runs on Replicate: set REPLICATE_API_TOKEN and REPLICATE_LORA_DESTINATION_OWNER "
            "(and optionally REPLICATE_LORA_TRAINER) to enable it"
        )


async def _owned_brand(accounts, brand_id: str):
    try:
        return await accounts.GetBrand(accounts_pb2.GetBrandRequest(id=brand_id))
    except grpc.aio.AioRpcError as exc:
        raise Upstream(exc) from None


def enqueue(queue: Queue, settings: Settings, lora_id) -> None:
    timeout_s = job_types.job_timeout_s(settings, job_types.LORA_TRAINING)
    rq_jobs.enqueue_lora_training(queue, lora_id, timeout_s)


async def start(engine: AsyncEngine, accounts, queue: Queue, settings: Settings, brand_id: str):
    user_id = caller_id()
    brand = await _owned_brand(accounts, brand_id)
    check_configured(settings)
    if (count := len(brand.product_images)) < MIN_IMAGES:
        raise FailedPrecondition(
            f"training a LoRA needs at least {MIN_IMAGES} product images; this brand has {count}"
        )
    brand_uuid = uuid.UUID(brand.id)
    async with engine.begin() as conn:
        running = await conn.scalar(
            select(loras.c.id).where(
                loras.c.brand_id == brand_uuid, loras.c.status.in_(("pending", "training"))
            )
        )
        if running is not None:
            raise AlreadyExists("a LoRA training for this brand is still running")
        lora_id = await conn.scalar(
            insert(loras).values(brand_id=brand_uuid, user_id=user_id, status="pending").returning(loras.c.id)
        )
    try:
        await asyncio.to_thread(enqueue, queue, settings, lora_id)
    except Exception as exc:  # noqa: BLE001 - the reconciler enqueues it when Redis is back
        log.warning("LoRA %s kept pending: could not enqueue (%s)", lora_id, exc)
    log.info("LoRA training %s started for brand %s by %s", lora_id, brand.id, user_id)
    return await _latest(engine, brand_uuid)


async def _latest(engine: AsyncEngine, brand_id: uuid.UUID):
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(loras).where(loras.c.brand_id == brand_id).order_by(loras.c.created_at.desc()).limit(1)
            )
        ).one_or_none()
    if row is None:
        raise NotFound("this brand has no LoRA model")
    return row


async def latest(engine: AsyncEngine, accounts, brand_id: str):
    brand = await _owned_brand(accounts, brand_id)
    return await _latest(engine, uuid.UUID(brand.id))


async def set_approval(engine: AsyncEngine, accounts, brand_id: str, approved: bool):
    row = await latest(engine, accounts, brand_id)
    if row.status != "completed":
        raise FailedPrecondition(
            f"only a completed LoRA can be approved or rejected (this one is {row.status})"
        )
    async with engine.begin() as conn:
        await conn.execute(update(loras).where(loras.c.id == row.id).values(user_approved=approved))
    return await _latest(engine, row.brand_id)


async def lost_trainings(engine: AsyncEngine, older_than_s: float) -> list[uuid.UUID]:
    """Trainings the database says are under way, old enough that their RQ job must exist."""
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    select(loras.c.id).where(
                        loras.c.status.in_(("pending", "training")),
                        loras.c.updated_at < func.now() - timedelta(seconds=older_than_s),
                    )
                )
            ).scalars()
        )


def enqueue_missing(queue: Queue, settings: Settings, lora_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Enqueue again the trainings whose RQ job is gone or ended without settling the row."""
    enqueued = []
    for lora_id in lora_ids:
        job = Job.fetch_many([rq_jobs.lora_job_id(lora_id)], connection=queue.connection)[0]
        if job is not None and job.get_status() not in rq_jobs.ENDED:
            continue
        if job is not None:
            job.delete()
        enqueue(queue, settings, lora_id)
        enqueued.append(lora_id)
    return enqueued
