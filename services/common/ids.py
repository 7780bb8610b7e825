"""Record ids in requests."""

from __future__ import annotations

import uuid

from services.common.errors import InvalidArgument


def parse_id(value: str, field: str) -> uuid.UUID:
    """The UUID in a request field. Missing or not a UUID is INVALID_ARGUMENT in every service (422
    at the gateway, which refuses such an id in a path the same way): a malformed id is the
    caller's mistake, not an unknown record, and saying so helps whoever made it."""
    if not value:
        raise InvalidArgument(f"{field} is required")
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise InvalidArgument(f"{field} must be a UUID, got {value[:64]!r}") from None
