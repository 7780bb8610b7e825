from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.gateway.schemas.common import Integer, JsonObject, RequestBody

FileKind = Literal["product_image", "brand_asset"]
MAX_FILENAME_LENGTH = 255


class BrandCreate(RequestBody):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    brand_guidelines: JsonObject = Field(default_factory=dict)


class BrandUpdate(RequestBody):
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    brand_guidelines: JsonObject | None = None


class UploadRequest(RequestBody):
    kind: FileKind
    filename: str = Field(min_length=1, max_length=MAX_FILENAME_LENGTH)
    content_type: str = Field(min_length=1, max_length=100)
    size: Integer = Field(gt=0)


class UploadConfirm(RequestBody):
    upload_id: str = Field(min_length=1, max_length=4096)


class UploadTicket(BaseModel):
    upload_id: str = Field(description="Send it to .../uploads/confirm once the PUT succeeded.")
    url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str] = Field(description="Send these headers with the PUT, exactly as given.")
    key: str
    expires_at: datetime


class BrandFileOut(BaseModel):
    key: str
    filename: str
    content_type: str
    size: int
    added_at: datetime | None
    url: str = Field(description="A presigned GET URL, valid for an hour.")


class BrandOut(BaseModel):
    id: str
    title: str
    description: str
    brand_guidelines: dict[str, Any]
    product_images: list[BrandFileOut]
    brand_assets: list[BrandFileOut]
    created_at: datetime
    updated_at: datetime
