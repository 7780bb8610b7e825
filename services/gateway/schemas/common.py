from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, WithJsonSchema

MAX_JSON_BYTES = 64 * 1024
# The accounts service's rule (services/accounts/validation.py): one @, no spaces or control characters.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


def examples(*items: dict[str, Any]) -> ConfigDict:
    """A model's examples for the OpenAPI document (shown in /docs, sent by the fuzzer's examples
    phase): realistic, and valid for the model."""
    return ConfigDict(json_schema_extra={"examples": list(items)})


class RequestBody(BaseModel):
    # Unknown fields are a client bug worth hearing about, not something to drop silently; and a
    # value of another JSON type than documented (`"reply": 0`, `"order": false`, `"size": "5"`) is
    # refused rather than coerced, as the OpenAPI document promises (strict).
    model_config = ConfigDict(extra="forbid", strict=True)


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


def integral(value: Any) -> Any:
    # JSON has one number type: 5.0 is an integer to JSON Schema, so strict mode must take it.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# The same rule for the OpenAPI document (surrounding spaces are trimmed before the check). No
# `format: email`: that is RFC 5321's ASCII addresses, and accounts takes international ones too.
_EMAIL_SCHEMA = {
    "type": "string",
    "maxLength": 320,
    "pattern": r"^\s*[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+\s*$",
    "examples": ["ada@example.com"],
}
Email = Annotated[str, AfterValidator(_email), WithJsonSchema(_EMAIL_SCHEMA)]
# An integer in a request body (RequestBody is strict): 5 or 5.0, never true or "5".
Integer = Annotated[int, BeforeValidator(integral)]
# A UUID in a request body arrives as a JSON string, which strict mode alone would refuse.
Uuid = Annotated[uuid.UUID, Strict(False)]
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
