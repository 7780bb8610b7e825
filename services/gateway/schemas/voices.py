"""The voice catalog as the API lists it (services.common.voices)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.gateway.schemas.common import examples


class VoiceOut(BaseModel):
    model_config = examples(
        {
            "id": "en-us-f1",
            "name": "Ava (US)",
            "language": "en-US",
            "gender": "female",
            "sample_url": "/api/voices/en-us-f1/sample",
        }
    )

    id: str = Field(description="What a project's voice setting takes")
    name: str = Field(description="A name for a voice picker")
    language: str = Field(description="The BCP 47 tag of the language it speaks")
    gender: str = Field(description="female, male or neutral")
    sample_url: str = Field(
        description="A short MP3 of this voice (no token needed: an audio element can play it)"
    )
