from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from services.common.music import MAX_TEMPO_BPM, MIN_TEMPO_BPM, MOODS
from services.common.voices import LANGUAGES, MAX_SPEAKING_RATE, MIN_SPEAKING_RATE, VOICES
from services.gateway.schemas.common import Integer, JsonObject, RequestBody, Uuid, examples, integral
from zapcut.accounts.v1 import accounts_pb2 as pb

ProjectStatus = Literal["draft", "scripting", "generating", "completed", "failed"]
# What a client may set: the generation pipeline sets generating, completed and failed.
ClientProjectStatus = Literal["draft", "scripting"]
Role = Literal["user", "assistant", "system"]


def _one_of(allowed: Iterable[str], listed_by: str) -> Callable[[str], str]:
    allowed = list(allowed)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)} ({listed_by})")
        return value

    return check


def _enum(allowed: Iterable[str]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(allowed)})


# Strings from the shared catalogs, shown as enums in the OpenAPI document.
VoiceId = Annotated[str, AfterValidator(_one_of(VOICES, "GET /api/voices")), _enum(VOICES)]
Language = Annotated[
    str, AfterValidator(_one_of(LANGUAGES, "the languages of GET /api/voices")), _enum(LANGUAGES)
]
MusicMood = Annotated[
    str, AfterValidator(_one_of(MOODS, "the moods of services/common/music.py")), _enum(MOODS)
]


class ProjectSettingsIn(RequestBody):
    """The voice and music of the project's ads. On PATCH, only the fields sent change; `null` puts
    one back to its default."""

    model_config = examples(
        {"voice": "en-gb-f1", "speaking_rate": 1.1, "music_mood": "calm", "music_tempo_bpm": 80},
        {"music_track_key": "brand-assets/0b6e4f2c-1c4e-4a7b-9f2e-3d1a5c7b9e01/3f2a1b0c9d8e-theme.mp3"},
    )

    voice: VoiceId | None = Field(None, description="A voice id of `GET /api/voices`.")
    language: Language | None = Field(
        None, description="The script's language, a tag of `GET /api/voices`; default: the voice's."
    )
    # Bounds inside the Annotated: on the optional field they would reach the OpenAPI document as
    # keywords no JSON Schema validator knows (`ge`, `le`).
    speaking_rate: Annotated[float, Field(ge=MIN_SPEAKING_RATE, le=MAX_SPEAKING_RATE)] | None = Field(
        None, description="Times the voice's normal pace; default 1.0."
    )
    music_mood: MusicMood | None = Field(None, description="The generated music's mood; default upbeat.")
    music_tempo_bpm: (
        Annotated[int, Field(ge=MIN_TEMPO_BPM, le=MAX_TEMPO_BPM), BeforeValidator(integral)] | None
    ) = Field(None, description="The generated music's tempo; default: the mood's.")
    music_track_key: str | None = Field(
        None,
        min_length=1,
        max_length=1024,
        description="Play the brand's own track instead: the `key` of one of the brand's `audio_files` "
        "(422 otherwise). Removing that file from the brand puts the project back on generated music.",
    )

    def as_pb(self) -> pb.ProjectSettings:
        """The fields sent; a null one as the empty value that means "the default"."""
        settings = pb.ProjectSettings()
        empty: dict[str, object] = {"speaking_rate": 0.0, "music_tempo_bpm": 0}
        for name in self.model_fields_set:
            value = getattr(self, name)
            setattr(settings, name, empty.get(name, "") if value is None else value)
        return settings


class ProjectSettingsOut(BaseModel):
    model_config = examples(
        {
            "voice": "en-us-f1",
            "language": "en-US",
            "speaking_rate": 1.0,
            "music_mood": "upbeat",
            "music_tempo_bpm": None,
            "music_track_key": None,
        }
    )

    voice: str
    language: str
    speaking_rate: float
    music_mood: str
    music_tempo_bpm: int | None = Field(description="null: the mood's own tempo")
    music_track_key: str | None = Field(description="null: generated music")

    @classmethod
    def from_pb(cls, settings: pb.ProjectSettings) -> ProjectSettingsOut:
        return cls(
            voice=settings.voice,
            language=settings.language,
            speaking_rate=settings.speaking_rate,
            music_mood=settings.music_mood,
            music_tempo_bpm=settings.music_tempo_bpm or None,
            music_track_key=settings.music_track_key or None,
        )


class ProjectCreate(RequestBody):
    model_config = examples(
        {
            "brand_id": "0b6e4f2c-1c4e-4a7b-9f2e-3d1a5c7b9e01",
            "ad_details": {"duration_s": 30, "audience": "commuters"},
            "settings": {"voice": "en-us-m1", "music_mood": "calm"},
        }
    )

    brand_id: Uuid
    ad_details: JsonObject = Field(default_factory=dict)
    settings: ProjectSettingsIn | None = None


class ProjectUpdate(RequestBody):
    model_config = examples({"status": "scripting"})

    status: ClientProjectStatus | None = Field(
        None,
        description="`draft` or `scripting`. `generating`, `completed` and `failed` are the generation "
        "pipeline's to set (422 here); while a generation runs the status can't change (409).",
    )
    ad_details: JsonObject | None = None
    zapcut_project_id: str | None = Field(None, max_length=100)
    settings: ProjectSettingsIn | None = None


class ProjectOut(BaseModel):
    model_config = examples(
        {
            "id": "5d2c8a1e-7b3f-4e6a-9c0d-1f2e3a4b5c6d",
            "brand_id": "0b6e4f2c-1c4e-4a7b-9f2e-3d1a5c7b9e01",
            "status": "draft",
            "ad_details": {"duration_s": 30},
            "zapcut_project_id": None,
            "settings": {
                "voice": "en-us-f1",
                "language": "en-US",
                "speaking_rate": 1.0,
                "music_mood": "upbeat",
                "music_tempo_bpm": None,
                "music_track_key": None,
            },
            "created_at": "2026-12-02T10:00:00Z",
            "updated_at": "2026-12-02T10:00:00Z",
        }
    )

    id: str
    brand_id: str
    status: ProjectStatus
    ad_details: dict[str, Any]
    zapcut_project_id: str | None
    settings: ProjectSettingsOut = Field(description="The voice and music of its ads, defaults filled in")
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
