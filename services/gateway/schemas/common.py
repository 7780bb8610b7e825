from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_JSON_BYTES = 64 * 1024
# The accounts service's rule (services/accounts/validation.py): one @, no spaces or control characters.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


class RequestBody(BaseModel):
    # Unknown fields are a client bug worth hearing about, not something to drop silently.
    model_config = ConfigDict(extra="forbid")


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 320 or not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value


def _json_object_size(value: dict[str, Any]) -> dict[str, Any]:
    # Measured as UTF-8 JSON, as the accounts service measures it, so "é" counts 2 bytes rather
    # than the 6 of its ASCII escape.
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())
    except ValueError:
        raise ValueError("must not contain NaN, Infinity or unpaired surrogates") from None
    if size > MAX_JSON_BYTES:
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
