from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.gateway.schemas.common import Integer, RequestBody, examples

Aspect = Literal["9:16", "16:9", "1:1"]


class GenerationStart(RequestBody):
    model_config = examples({"aspect": "9:16", "resolution": 1080})

    aspect: Aspect = "9:16"
    resolution: Integer = Field(
        1080, ge=144, le=2160, description="The short side in pixels (even).", multiple_of=2
    )


class StepOut(BaseModel):
    model_config = examples(
        {
            "id": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
            "name": "scene_1",
            "status": "completed",
            "progress": 100,
            "stage": None,
            "attempts": 1,
            "provider": "local",
            "replicate_job_id": None,
            "output_url": "https://zapcut-adgen.s3.amazonaws.com/scene-videos/...",
            "error_message": None,
            "created_at": "2026-12-02T10:00:00Z",
            "started_at": "2026-12-02T10:00:01Z",
            "finished_at": "2026-12-02T10:00:09Z",
        }
    )

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
    model_config = examples(
        {
            "id": "7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b",
            "status": "processing",
            "progress": 40,
            "aspect": "9:16",
            "width": 1080,
            "height": 1920,
            "duration_s": 15.0,
            "provider": "local",
            "charge": "free_video",
            "refunded": False,
            "error_message": None,
            "final_url": None,
            "captions_url": None,
            "jobs": [],
            "created_at": "2026-12-02T10:00:00Z",
            "updated_at": "2026-12-02T10:00:09Z",
            "finished_at": None,
        }
    )

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
    captions_url: str | None = Field(
        default=None,
        description="The final video's captions as WebVTT (text/vtt), the cues burned into it, timed to "
        "the voiceover; presigned for an hour, once completed, when the voiceover has them.",
    )
    jobs: list[StepOut]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
