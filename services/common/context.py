"""Per-request values that follow a call across async tasks and into log lines."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

from services.common.errors import Unauthenticated

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)

REQUEST_ID_HEADER = "x-request-id"
USER_ID_HEADER = "x-user-id"
INTERNAL_TOKEN_HEADER = "x-internal-token"  # noqa: S105 - a header name


def new_request_id() -> str:
    return uuid.uuid4().hex


def caller_id() -> uuid.UUID:
    """The user the gateway authenticated for this call (x-user-id metadata); UNAUTHENTICATED without one."""
    try:
        return uuid.UUID(user_id_var.get() or "")
    except ValueError:
        raise Unauthenticated("no authenticated user on this call") from None
