from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from services.gateway.schemas.common import JsonObject, RequestBody

ProjectStatus = Literal["draft", "scripting", "generating", "completed", "failed"]
Role = Literal["user", "assistant", "system"]


class ProjectCreate(RequestBody):
    brand_id: uuid.UUID
    ad_details: JsonObject = Field(default_factory=dict)


class ProjectUpdate(RequestBody):
    status: ProjectStatus | None = None
    ad_details: JsonObject | None = None
    zapcut_project_id: str | None = Field(None, max_length=100)


class ProjectOut(BaseModel):
    id: str
    brand_id: str
    status: ProjectStatus
    ad_details: dict[str, Any]
    zapcut_project_id: str | None
    created_at: datetime
    updated_at: datetime


class MessageCreate(RequestBody):
    role: Role
    content: str = Field(min_length=1, max_length=10_000)


class MessageOut(BaseModel):
    id: str
    role: Role
    content: str
    created_at: datetime


class Scene(RequestBody):
    order: int = Field(ge=0, le=1000)
    description: str = Field(min_length=1, max_length=2000)
    duration_s: float = Field(ge=1, le=60)
    voiceover_text: str | None = Field(None, max_length=2000)
    on_screen_text: str | None = Field(None, max_length=2000)


class ScriptPut(RequestBody):
    storyline: str = Field("", max_length=10_000)
    scenes: list[Scene] = Field(min_length=1, max_length=12)

    @field_validator("scenes")
    @classmethod
    def _unique_orders(cls, scenes: list[Scene]) -> list[Scene]:
        orders = [s.order for s in scenes]
        if len(set(orders)) != len(orders):
            raise ValueError("scene orders must be unique")
        return scenes


class SceneOut(BaseModel):
    order: int
    description: str
    duration_s: float
    voiceover_text: str | None = None
    on_screen_text: str | None = None


class ScriptOut(BaseModel):
    id: str
    storyline: str
    scenes: list[SceneOut]
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime
