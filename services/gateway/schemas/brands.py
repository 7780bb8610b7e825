from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from services.common.brand_kit import COLOR_ROLES, FONTS, guideline_problems
from services.gateway.schemas.common import Integer, JsonObject, RequestBody, examples

FileKind = Literal["product_image", "brand_asset", "logo", "audio"]
MAX_FILENAME_LENGTH = 255


def _checked_guidelines(value: dict[str, Any]) -> dict[str, Any]:
    """The documented fields checked as accounts checks them, each error at its own place
    (brand_guidelines.colors.primary), not on the whole object, and all of them at once."""
    problems = guideline_problems(value)
    if not problems:
        return value
    errors = [
        InitErrorDetails(
            type=PydanticCustomError("brand_guidelines", "{reason}", {"reason": problem.reason}),
            loc=tuple(problem.field.split(".")[1:]),
            input=value,
        )
        for problem in problems
    ]
    raise ValidationError.from_exception_data("brand_guidelines", errors)


_COLOR_SCHEMA = {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$", "examples": ["#0B6E4F"]}
_GUIDELINES_SCHEMA = {
    "type": "object",
    "description": "Free-form guidelines (tone, audience, anything the assistant should know), with "
    "two documented fields that drive the look of the ads, checked on write (422 naming the field): "
    "`colors`, the brand's primary, secondary and background colors as `#RRGGBB` (or the older list "
    "form, first primary), and `font`, one of the bundled fonts `GET /api/fonts` lists. Missing "
    "fields take defaults.",
    # null is taken as absent: the defaults.
    "properties": {
        "colors": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {role: _COLOR_SCHEMA for role in COLOR_ROLES},
                    "additionalProperties": False,
                },
                {"type": "array", "items": _COLOR_SCHEMA, "maxItems": len(COLOR_ROLES)},
                {"type": "null"},
            ]
        },
        "font": {"anyOf": [{"type": "string", "enum": list(FONTS)}, {"type": "null"}]},
    },
    "additionalProperties": True,
    "examples": [
        {
            "colors": {"primary": "#0B6E4F", "secondary": "#F2C14E", "background": "#FFFFFF"},
            "font": "Manrope",
            "tone": "bright",
        }
    ],
}
BrandGuidelines = Annotated[
    JsonObject, AfterValidator(_checked_guidelines), WithJsonSchema(_GUIDELINES_SCHEMA)
]


class BrandCreate(RequestBody):
    model_config = examples(
        {
            "title": "Acme Sparkling Water",
            "description": "Sparkling water with real fruit",
            "brand_guidelines": {
                "colors": {"primary": "#0B6E4F", "secondary": "#F2C14E", "background": "#FFFFFF"},
                "font": "Manrope",
                "tone": "bright",
            },
        }
    )

    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    brand_guidelines: BrandGuidelines = Field(default_factory=dict)


class BrandUpdate(RequestBody):
    model_config = examples({"description": "Sparkling water with real fruit, now in cans"})

    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    brand_guidelines: BrandGuidelines | None = None


class UploadRequest(RequestBody):
    model_config = examples(
        {"kind": "product_image", "filename": "can.png", "content_type": "image/png", "size": 48213}
    )

    kind: FileKind
    filename: str = Field(min_length=1, max_length=MAX_FILENAME_LENGTH)
    content_type: str = Field(min_length=1, max_length=100)
    size: Integer = Field(gt=0)


class UploadConfirm(RequestBody):
    model_config = examples({"upload_id": "eyJicmFuZF9pZCI6Ii4uLiJ9.c2lnbmF0dXJl"})

    upload_id: str = Field(min_length=1, max_length=4096)


class UploadTicket(BaseModel):
    model_config = examples(
        {
            "upload_id": "eyJicmFuZF9pZCI6Ii4uLiJ9.c2lnbmF0dXJl",
            "url": "https://zapcut-adgen.s3.amazonaws.com/staging/...",
            "method": "PUT",
            "headers": {"Content-Length": "48213", "Content-Type": "image/png"},
            "key": "product-images/0b6e4f2c-1c4e-4a7b-9f2e-3d1a5c7b9e01/can.png",
            "expires_at": "2026-12-02T10:15:00Z",
        }
    )

    upload_id: str = Field(description="Send it to .../uploads/confirm once the PUT succeeded.")
    url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str] = Field(description="Send these headers with the PUT, exactly as given.")
    key: str
    expires_at: datetime


class BrandFileOut(BaseModel):
    model_config = examples(
        {
            "key": "product-images/0b6e4f2c-1c4e-4a7b-9f2e-3d1a5c7b9e01/can.png",
            "filename": "can.png",
            "content_type": "image/png",
            "size": 48213,
            "added_at": "2026-12-02T10:00:00Z",
            "url": "https://zapcut-adgen.s3.amazonaws.com/product-images/...?X-Amz-Signature=...",
        }
    )

    key: str
    filename: str
    content_type: str
    size: int
    added_at: datetime | None
    url: str = Field(description="A presigned GET URL, valid for an hour.")


class BrandOut(BaseModel):
    model_config = examples(
        {
            "id": "0b6e4f2c-1c4e-4a7b-9f2e-3d1a5c7b9e01",
            "title": "Acme Sparkling Water",
            "description": "Sparkling water with real fruit",
            "brand_guidelines": {"tone": "bright"},
            "product_images": [],
            "brand_assets": [],
            "logo": None,
            "audio_files": [],
            "created_at": "2026-12-02T10:00:00Z",
            "updated_at": "2026-12-02T10:00:00Z",
        }
    )

    id: str
    title: str
    description: str
    brand_guidelines: dict[str, Any]
    product_images: list[BrandFileOut]
    brand_assets: list[BrandFileOut]
    logo: BrandFileOut | None = Field(
        description="The brand's logo (kind=logo; a new one replaces it), shown on its ads' end card"
    )
    audio_files: list[BrandFileOut] = Field(
        description="The brand's own music tracks (kind=audio), which a project's "
        "settings.music_track_key may name"
    )
    created_at: datetime
    updated_at: datetime


class FontOut(BaseModel):
    model_config = examples({"name": "Manrope", "style": "sans", "license": "OFL-1.1"})

    name: str = Field(description="What brand_guidelines.font takes")
    style: str = Field(description="sans, serif, display or rounded")
    license: str = Field(description="The font's license (SPDX id)")
