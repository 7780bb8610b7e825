from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, field_validator, model_validator

from services.gateway.schemas.common import Integer, JsonObject, RequestBody, Uuid, examples, integral

ProjectStatus = Literal["draft", "scripting", "generating", "completed", "failed"]
# What a client may set: the generation pipeline sets generating, completed and failed.
ClientProjectStatus = Literal["draft", "scripting"]
Role = Literal["user", "assistant", "system"]


class ProjectCreate(RequestBody):
    model_config = examples(
        {
            "brand_id": "0b6e4f2c-1c4e-4a7b-9f2e-3d1a5c7b9e01",
            "ad_details": {"duration_s": 30, "audience": "commuters"},
        }
    )

    brand_id: Uuid
    ad_details: JsonObject = Field(default_factory=dict)


class ProjectUpdate(RequestBody):
    model_config = examples({"status": "scripting"})

    status: ClientProjectStatus | None = Field(
        None,
        description="`draft` or `scripting`. `generating`, `completed` and `failed` are the generation "
        "pipeline's to set (422 here); while a generation runs the status can't change (409).",
    )
    ad_details: JsonObject | None = None
    zapcut_project_id: str | None = Field(None, max_length=100)


class ProjectOut(BaseModel):
    model_config = examples(
        {
            "id": "5d2c8a1e-7b3f-4e6a-9c0d-1f2e3a4b5c6d",
            "brand_id": "0b6e4f2c-1c4e-4a7b-9f2e-3d1a5c7b9e01",
            "status": "draft",
            "ad_details": {"duration_s": 30},
            "zapcut_project_id": None,
            "created_at": "2026-12-02T10:00:00Z",
            "updated_at": "2026-12-02T10:00:00Z",
        }
    )

    id: str
    brand_id: str
    status: ProjectStatus
    ad_details: dict[str, Any]
    zapcut_project_id: str | None
    created_at: datetime
    updated_at: datetime


class MessageCreate(RequestBody):
    model_config = examples(
        {"role": "user", "content": "A 30-second summer ad: cold cans, a beach, a bright tone."}
    )

    role: Literal["user"] = Field(
        "user",
        description="Always `user`. The assistant's messages are written by the assistant (`reply: true`), "
        "`system` ones by the server; a client can post neither (422).",
    )
    content: str = Field(min_length=1, max_length=10_000)
    reply: bool = Field(
        False,
        description="Ask the assistant to answer this message. The answer is then "
        "`{message, reply}`: both are stored, or neither when the assistant fails.",
    )


class MessageOut(BaseModel):
    model_config = examples(
        {
            "id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
            "role": "user",
            "content": "A 30-second summer ad.",
            "created_at": "2026-12-02T10:00:00Z",
        }
    )

    id: str
    role: Role
    content: str
    created_at: datetime


class MessageExchange(BaseModel):
    """A user message and the assistant's reply to it, as stored (the reply comes after it)."""

    model_config = examples(
        {
            "message": {
                "id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
                "role": "user",
                "content": "Any ideas for the hook?",
                "created_at": "2026-12-02T10:00:00Z",
            },
            "reply": {
                "id": "4d5e6f7a-8b9c-4d0e-8f1a-2b3c4d5e6f7a",
                "role": "assistant",
                "content": "Open on a can hissing open in the heat.",
                "created_at": "2026-12-02T10:00:02Z",
            },
        }
    )

    message: MessageOut
    reply: MessageOut


class Scene(RequestBody):
    model_config = examples({"order": 1, "description": "A hot city street at noon", "duration_s": 5})

    order: Integer = Field(ge=0, le=1000)
    description: str = Field(min_length=1, max_length=2000)
    duration_s: float = Field(ge=1, le=60)
    voiceover_text: str | None = Field(None, max_length=2000)
    on_screen_text: str | None = Field(None, max_length=2000)


class ScriptPut(RequestBody):
    model_config = examples(
        {
            "storyline": "Heat, a can opens, relief.",
            "scenes": [
                {"order": 1, "description": "A hot city street at noon", "duration_s": 5},
                {
                    "order": 2,
                    "description": "A can of Acme opens in close-up",
                    "duration_s": 3,
                    "voiceover_text": "Real fruit. Real fizz.",
                    "on_screen_text": "Acme Sparkling Water",
                },
            ],
        }
    )

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
    model_config = examples(
        {
            "order": 1,
            "description": "A hot city street at noon",
            "duration_s": 5.0,
            "voiceover_text": None,
            "on_screen_text": None,
        }
    )

    order: int
    description: str
    duration_s: float
    voiceover_text: str | None = None
    on_screen_text: str | None = None


class ScriptOut(BaseModel):
    model_config = examples(
        {
            "id": "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c",
            "storyline": "Heat, a can opens, relief.",
            "scenes": [
                {
                    "order": 1,
                    "description": "A hot city street at noon",
                    "duration_s": 5.0,
                    "voiceover_text": None,
                    "on_screen_text": None,
                }
            ],
            "approved_at": None,
            "created_at": "2026-12-02T10:00:00Z",
            "updated_at": "2026-12-02T10:00:00Z",
        }
    )

    id: str
    storyline: str
    scenes: list[SceneOut]
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ScriptDraft(RequestBody):
    model_config = examples({"duration_s": 15})

    duration_s: Integer = Field(
        30, ge=6, le=120, description="The ad's length in seconds; the scenes add up to it."
    )
    # The bounds before the validator: after it they reach the OpenAPI document as keywords no
    # JSON Schema validator knows (`ge`, `le`), leaving scene_count unbounded there.
    scene_count: Annotated[int, Field(ge=3, le=12), BeforeValidator(integral)] | None = Field(
        None,
        description="How many scenes; unset, the drafter chooses (template: 3 + one per image).",
    )

    @model_validator(mode="after")
    def _scenes_fit(self) -> ScriptDraft:
        if self.scene_count is not None and self.scene_count > self.duration_s:
            raise ValueError("scene_count must be at most duration_s: each scene lasts at least 1 s")
        return self


class ScriptDraftOut(BaseModel):
    model_config = examples(
        {
            "script": {
                "id": "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c",
                "storyline": "Heat, a can opens, relief.",
                "scenes": [
                    {
                        "order": 1,
                        "description": "A hot city street at noon",
                        "duration_s": 15.0,
                        "voiceover_text": None,
                        "on_screen_text": None,
                    }
                ],
                "approved_at": None,
                "created_at": "2026-12-02T10:00:00Z",
                "updated_at": "2026-12-02T10:00:00Z",
            },
            "source": "template",
            "note": None,
        }
    )

    script: ScriptOut = Field(description="The drafted script, saved as the project's script (unapproved).")
    source: Literal["llm", "template"] = Field(
        description="`llm`: written by the language model; `template`: the deterministic template."
    )
    note: str | None = Field(
        None, description="Why the template was used although a language model is configured."
    )
