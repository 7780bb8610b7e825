from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.gateway.schemas.common import Integer, RequestBody

Aspect = Literal["9:16", "16:9", "1:1"]


class GenerationStart(RequestBody):
    aspect: Aspect = "9:16"
    resolution: Integer = Field(
        1080, ge=144, le=2160, description="The short side in pixels (even).", multiple_of=2
    )


class StepOut(BaseModel):
    id: str
    name: str = Field(description="scene_1 ... scene_n, voiceover, music, composite")
    status: str
    progress: int
    stage: str | None
    attempts: int
    provider: str | None
    replicate_job_id: str | None
    output_url: str | None = Field(description="A presigned URL of what the step stored (1 hour).")
    error_message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class GenerationOut(BaseModel):
    id: str
    status: Literal["pending", "processing", "completed", "failed", "cancelled"]
    progress: int = Field(description="0-100 over all steps")
    aspect: Aspect
    width: int
    height: int
    duration_s: float
    provider: str
    charge: str | None
    refunded: bool
    error_message: str | None
    final_url: str | None = Field(description="final_ad.mp4, presigned for an hour, once completed.")
    jobs: list[StepOut]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
