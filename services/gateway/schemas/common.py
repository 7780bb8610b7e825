from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_JSON_BYTES = 64 * 1024
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RequestBody(BaseModel):
    # Unknown fields are a client bug worth hearing about, not something to drop silently.
    model_config = ConfigDict(extra="forbid")


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 320 or not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value


def _json_object_size(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value).encode()) > MAX_JSON_BYTES:
        raise ValueError("must be at most 64 KB of JSON")
    return value


Email = Annotated[str, AfterValidator(_email)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_json_object_size)]
Limit = Annotated[int, Field(ge=1, le=100)]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last.")


def timestamp(ts: Timestamp, present: bool = True) -> datetime | None:
    if not present:
        return None
    return ts.ToDatetime(tzinfo=UTC)
