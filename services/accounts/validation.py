"""Input checks the accounts service applies whatever the caller (the gateway checks too)."""

from __future__ import annotations

import json
import re
import uuid

from services.common.errors import InvalidArgument, NotFound

MAX_JSON_BYTES = 64 * 1024
# Deliberately loose: one @, no spaces, a dot in the domain. Deliverability is the mailer's problem.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        raise InvalidArgument("email is not a valid email address")
    return email


def check_length(value: str, field: str, low: int, high: int) -> str:
    if not low <= len(value) <= high:
        raise InvalidArgument(f"{field} must be {low} to {high} characters")
    return value


def record_id(value: str, what: str) -> uuid.UUID:
    """A record id from a request; one that is not a UUID cannot exist, so it is NOT_FOUND."""
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise NotFound(f"{what} not found") from None


def json_object(text: str, field: str) -> dict:
    if not text:
        return {}
    if len(text.encode()) > MAX_JSON_BYTES:
        raise InvalidArgument(f"{field} is larger than 64 KB")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise InvalidArgument(f"{field} is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidArgument(f"{field} must be a JSON object")
    return value
