"""The lora_training job type (run in a work horse): zip the brand's product images into our bucket,
start a training at Replicate into the brand's destination model, follow it, and record the weights
(or the error) on the lora_models row."""

from __future__ import annotations

import logging
import tempfile
import uuid
import zipfile
from pathlib import Path

import httpx
from sqlalchemy import func, select, update

from services.common.db import table_of
from services.common.events import LORA_COMPLETED
from services.common.outbox import new_event
from services.jobs.failures import describe
from services.jobs.media_types import PermanentProviderError, TransientProviderError
from services.jobs.models import LoraModel, OutboxEvent
from services.jobs.providers.replicate.trainings import ReplicateTrainings
from services.jobs.queue.job_types import JobContext
from services.jobs.replicate_webhooks.mailbox import Mailbox
from zapcut.media.v1 import media_pb2

log = logging.getLogger(__name__)

loras = table_of(LoraModel)
outbox = table_of(OutboxEvent)


def run(ctx: JobContext, params: dict) -> None:
    """The handler; ctx.job_id is the lora_models row's id."""
    rt = ctx.runtime
    calls, settings, lora_id = rt.calls, rt.settings, ctx.job_id
    lid = uuid.UUID(lora_id)
    with rt.engine.connect() as conn:
        row = conn.execute(select(loras).where(loras.c.id == lid)).one_or_none()
    if row is None or row.status not in ("pending", "training"):
        log.info("LoRA %s: nothing to do (%s)", lora_id, row.status if row else "gone")
        return
    trainings = ReplicateTrainings(settings, mailbox=Mailbox(rt.redis))
    try:
        training = trainings.get(row.training_job_id) if row.training_job_id else None
        if training is None:
            images_url = _training_images_url(calls, row.brand_id, lid)
            training = trainings.create(
                f"zapcut-{str(row.brand_id)[:8]}-lora",
                {"input_images": images_url, "trigger_word": "ZAPCUTBRAND"},
            )
            _update(rt.engine, lid, status="training", training_job_id=training["id"])
        done = trainings.wait(training)
        weights = trainings.weights_url(done)
        preview = (done.get("output") or {}).get("preview_image") or (done.get("output") or {}).get("preview")
        _update(
            rt.engine,
            lid,
            status="completed",
            model_url=weights,
            preview_image_url=preview if isinstance(preview, str) else None,
            trained_at=func.now(),
            error_message=None,
        )
        log.info("LoRA %s: trained", lora_id)
    except (PermanentProviderError, TransientProviderError) as exc:
        _update(rt.engine, lid, status="failed", error_message=describe(exc))
        log.warning("LoRA %s: failed: %s", lora_id, exc)
    finally:
        trainings.close()


def _training_images_url(calls, brand_id, lora_id) -> str:
    """The brand's product images as one zip in our bucket (a brand asset), presigned for the trainer."""
    keys = calls.list_keys(f"product-images/{brand_id}/")
    if len(keys) < 5:
        raise PermanentProviderError(f"the brand has {len(keys)} product images; a LoRA needs at least 5")
    with tempfile.TemporaryDirectory(prefix="zapcut-lora-") as tmp:
        archive = Path(tmp) / "images.zip"
        urls = calls.presign_downloads(keys)
        with zipfile.ZipFile(archive, "w") as zf:
            for i, (key, url) in enumerate(zip(keys, urls, strict=True)):
                data = httpx.get(url, timeout=60).content
                zf.writestr(f"{i:02d}_{key.rsplit('/', 1)[-1]}", data)
        ref = media_pb2.ObjectRef(
            brand_asset=media_pb2.BrandAsset(brand_id=str(brand_id), name=f"lora-{lora_id}.zip")
        )
        key = calls.upload_file(ref, archive, "application/zip", timeout_s=600)
    return calls.presign_downloads([key], expires_in_s=24 * 3600)[0]


def _update(engine, lora_id: uuid.UUID, **values) -> None:
    with engine.begin() as conn:
        row = conn.execute(
            update(loras)
            .where(loras.c.id == lora_id)
            .values(**values)
            .returning(loras.c.brand_id, loras.c.user_id)
        ).one_or_none()
        if row is not None and values.get("status") == "completed" and row.user_id is not None:
            # In the same transaction, for the user's webhooks (services.jobs.webhooks.fanout).
            payload = {"lora_id": str(lora_id), "brand_id": str(row.brand_id), "user_id": str(row.user_id)}
            conn.execute(new_event(outbox, LORA_COMPLETED, lora_id, payload))
