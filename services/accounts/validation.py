"""Input checks the accounts service applies whatever the caller (the gateway checks too)."""

from __future__ import annotations

import json
import re

from services.common.errors import InvalidArgument

MAX_JSON_BYTES = 64 * 1024
# Deliberately loose: one @, no spaces or control characters, a dot in the domain. Deliverability
# is the mailer's problem.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
NUL = "\x00"


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        raise InvalidArgument("email is not a valid email address")
    return email


def check_length(value: str, field: str, low: int, high: int) -> str:
    """A text of low to high characters that PostgreSQL can store (text cannot hold NUL)."""
    if not low <= len(value) <= high:
        raise InvalidArgument(f"{field} must be {low} to {high} characters")
    if NUL in value:
        raise InvalidArgument(f"{field} must not contain NUL characters")
    return value


def _json_size(value) -> int:
    """Bytes of `value` as UTF-8 JSON (json.dumps' spacing), however the client spaced or escaped
    it; ValueError for what JSON (and jsonb) cannot hold: NaN, Infinity, unpaired surrogates."""
    return len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def json_object(text: str, field: str) -> dict:
    """A JSON object of at most 64 KB that a jsonb column accepts."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidArgument(f"{field} is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidArgument(f"{field} must be a JSON object")
    try:
        size = _json_size(value)
    except ValueError:
        raise InvalidArgument(f"{field} must not contain NaN, Infinity or unpaired surrogates") from None
    if size > MAX_JSON_BYTES:
        raise InvalidArgument(f"{field} is larger than 64 KB")
    if _has_nul(value):
        raise InvalidArgument(f"{field} must not contain NUL characters")
    return value
