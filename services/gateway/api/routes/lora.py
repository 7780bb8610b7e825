"""/api/brands/{id}/lora: a brand's LoRA model, trained on its product images through Replicate."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from services.gateway.auth import CurrentCaller
from services.gateway.clients import Jobs
from services.gateway.schemas.common import examples, timestamp
from zapcut.jobs.v1 import jobs_pb2

router = APIRouter(prefix="/brands", tags=["lora"])


class LoraOut(BaseModel):
    model_config = examples(
        {
            "id": "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d",
            "status": "training",
            "user_approved": False,
            "model_url": None,
            "preview_image_url": None,
            "training_job_id": "r8x2k1",
            "error_message": None,
            "trained_at": None,
            "created_at": "2026-12-02T10:00:00Z",
        }
    )

    id: str
    status: Literal["pending", "training", "completed", "failed"]
    user_approved: bool
    model_url: str | None
    preview_image_url: str | None
    training_job_id: str | None
    error_message: str | None
    trained_at: datetime | None
    created_at: datetime


def lora_out(m: jobs_pb2.LoraModel) -> LoraOut:
    return LoraOut(
        id=m.id,
        status=m.status,
        user_approved=m.user_approved,
        model_url=m.model_url or None,
        preview_image_url=m.preview_image_url or None,
        training_job_id=m.training_job_id or None,
        error_message=m.error_message or None,
        trained_at=timestamp(m.trained_at, m.HasField("trained_at")),
        created_at=timestamp(m.created_at),
    )


@router.post(
    "/{brand_id}/lora",
    status_code=202,
    response_model=LoraOut,
    responses={409: {"description": "Fewer than 5 product images, Replicate not configured, or one running"}},
)
async def start_lora_training(brand_id: uuid.UUID, caller: CurrentCaller, jobs: Jobs) -> LoraOut:
    """Trains a LoRA on the brand's product images (at least 5); follow it with GET."""
    return lora_out(await jobs.StartLoraTraining(jobs_pb2.LoraRequest(brand_id=str(brand_id)), timeout=15))


@router.get("/{brand_id}/lora", response_model=LoraOut)
async def get_lora(brand_id: uuid.UUID, caller: CurrentCaller, jobs: Jobs) -> LoraOut:
    return lora_out(await jobs.GetLora(jobs_pb2.LoraRequest(brand_id=str(brand_id))))


@router.post("/{brand_id}/lora/approve", response_model=LoraOut)
async def approve_lora(brand_id: uuid.UUID, caller: CurrentCaller, jobs: Jobs) -> LoraOut:
    """An approved LoRA is given to the replicate video model for this brand's scenes."""
    return lora_out(await jobs.SetLoraApproval(jobs_pb2.LoraApproval(brand_id=str(brand_id), approved=True)))


@router.post("/{brand_id}/lora/reject", response_model=LoraOut)
async def reject_lora(brand_id: uuid.UUID, caller: CurrentCaller, jobs: Jobs) -> LoraOut:
    return lora_out(await jobs.SetLoraApproval(jobs_pb2.LoraApproval(brand_id=str(brand_id), approved=False)))
