from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.gateway.schemas.common import Integer, JsonObject, RequestBody, examples

FileKind = Literal["product_image", "brand_asset"]
MAX_FILENAME_LENGTH = 255


class BrandCreate(RequestBody):
    model_config = examples(
        {
            "title": "Acme Sparkling Water",
            "description": "Sparkling water with real fruit",
            "brand_guidelines": {"colors": ["#0B6E4F", "#F2C14E"], "tone": "bright"},
        }
    )

    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    brand_guidelines: JsonObject = Field(default_factory=dict)


class BrandUpdate(RequestBody):
    model_config = examples({"description": "Sparkling water with real fruit, now in cans"})

    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    brand_guidelines: JsonObject | None = None


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
    created_at: datetime
    updated_at: datetime
