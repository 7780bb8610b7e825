from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from services.gateway.schemas.common import Integer, RequestBody, examples

Aspect = Literal["9:16", "16:9", "1:1"]


class GenerationStart(RequestBody):
    model_config = examples({"aspects": ["9:16", "1:1", "16:9"], "resolution": 1080})

    aspect: Aspect = Field("9:16", description="The one placement; with `aspects`, absent or its first.")
    aspects: list[Aspect] | None = Field(
        None,
        min_length=1,
        max_length=3,
        json_schema_extra={"uniqueItems": True},
        description="Every placement at once, the primary first: each laid out at its own size, one "
        "voiceover and music for all, charged as one generation.",
    )
    resolution: Integer = Field(
        1080, ge=144, le=2160, description="The short side in pixels (even).", multiple_of=2
    )

    @field_validator("aspects")
    @classmethod
    def _unique(cls, aspects: list[str] | None) -> list[str] | None:
        if aspects is not None and len(set(aspects)) != len(aspects):
            raise ValueError("each placement may be asked for once")
        return aspects

    @model_validator(mode="after")
    def _primary(self) -> GenerationStart:
        if self.aspects and "aspect" in self.model_fields_set and self.aspect != self.aspects[0]:
            raise ValueError("aspect must be absent or the first of aspects (the primary placement)")
        return self

    @property
    def placements(self) -> list[str]:
        return list(self.aspects) if self.aspects else [self.aspect]


class SceneRegenerate(RequestBody):
    model_config = examples({"on_screen_text": "Now in mango", "voiceover_text": "Try the new mango."})

    on_screen_text: str | None = Field(
        None, max_length=2000, description='The scene\'s new headline; absent keeps it, "" removes it.'
    )
    voiceover_text: str | None = Field(
        None,
        max_length=2000,
        description='What the voice says in the scene; absent keeps it, "" removes it. A change '
        "makes the voiceover again too.",
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
    name: str = Field(
        description="scene_1 ... scene_n, voiceover, music, composite; another placement's scenes and "
        "composite carry its aspect: scene_1-16x9, composite-16x9."
    )
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


OutputKind = Literal["scene_video", "voiceover", "music", "captions", "final_video", "poster", "preview"]


class OutputOut(BaseModel):
    model_config = examples(
        {
            "kind": "poster",
            "aspect": "9:16",
            "content_type": "image/jpeg",
            "url": "https://zapcut-adgen.s3.amazonaws.com/generated-videos/.../poster.jpg",
        }
    )

    kind: OutputKind
    aspect: Aspect | None = Field(description="The placement it is for; null for what all share (audio).")
    content_type: str
    url: str = Field(description="Presigned for an hour.")


class PlacementOut(BaseModel):
    model_config = examples(
        {
            "aspect": "16:9",
            "width": 1920,
            "height": 1080,
            "final_url": "https://zapcut-adgen.s3.amazonaws.com/generated-videos/.../final_ad-16x9.mp4",
            "poster_url": "https://zapcut-adgen.s3.amazonaws.com/generated-videos/.../poster-16x9.jpg",
            "preview_url": "https://zapcut-adgen.s3.amazonaws.com/generated-videos/.../preview-16x9.mp4",
        }
    )

    aspect: Aspect
    width: int
    height: int
    final_url: str | None = Field(
        description="This placement's final video, presigned for an hour, once completed."
    )
    poster_url: str | None = Field(description="Its poster (JPEG), presigned for an hour, once completed.")
    preview_url: str | None = Field(
        description="Its short silent preview, presigned for an hour, once completed."
    )


class GenerationOut(BaseModel):
    model_config = examples(
        {
            "id": "7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b",
            "status": "processing",
            "progress": 40,
            "aspect": "9:16",
            "width": 1080,
            "height": 1920,
            "aspects": ["9:16"],
            "placements": [
                {
                    "aspect": "9:16",
                    "width": 1080,
                    "height": 1920,
                    "final_url": None,
                    "poster_url": None,
                    "preview_url": None,
                }
            ],
            "duration_s": 15.0,
            "provider": "local",
            "charge": "free_video",
            "refunded": False,
            "version": 1,
            "revises_id": None,
            "error_message": None,
            "final_url": None,
            "poster_url": None,
            "preview_url": None,
            "captions_url": None,
            "outputs": [],
            "jobs": [],
            "created_at": "2026-12-02T10:00:00Z",
            "updated_at": "2026-12-02T10:00:09Z",
            "finished_at": None,
        }
    )

    id: str
    status: Literal["pending", "processing", "completed", "failed", "cancelled"]
    progress: int = Field(description="0-100 over all steps")
    aspect: Aspect = Field(description="The primary placement (the first of `aspects`).")
    width: int
    height: int
    aspects: list[Aspect] = Field(description="Every placement the generation renders, the primary first.")
    placements: list[PlacementOut] = Field(
        description="Each placement's size and, once completed, its final video, poster and preview; "
        "the first is the primary, whose URLs final_url, poster_url and preview_url repeat."
    )
    duration_s: float
    provider: str
    charge: str | None = Field(
        description="free_video or credit; null for a free version (a scene made again)."
    )
    refunded: bool
    version: int = Field(description="1, or the version that making a scene again made (each a generation).")
    revises_id: str | None = Field(description="The generation this version revises; null for version 1.")
    error_message: str | None
    final_url: str | None = Field(description="final_ad.mp4, presigned for an hour, once completed.")
    poster_url: str | None = Field(
        description="A JPEG of the hook with its headline, full size, presigned for an hour, once completed."
    )
    preview_url: str | None = Field(
        description="The first 6 s at 360 px on the short side, silent (for lists that autoplay), "
        "presigned for an hour, once completed."
    )
    captions_url: str | None = Field(
        description="The final video's captions as WebVTT (text/vtt), the cues burned into it, timed to "
        "the voiceover; presigned for an hour, once completed, when the voiceover has them."
    )
    outputs: list[OutputOut] = Field(
        description="Every file the generation stored, once completed: scenes, audio, captions, final "
        "video, poster, preview."
    )
    jobs: list[StepOut]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
