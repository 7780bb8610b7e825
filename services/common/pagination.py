"""Keyset pagination: an opaque cursor holding the (created_at, id) of the last row of a page.

Every list of the API pages this way (accounts' brands, projects and messages; jobs' generations):
`model` is an ORM class or a table's columns (`table.c`) with `created_at` and `id`."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, tuple_

from services.common.errors import InvalidArgument

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def page_limit(limit: int) -> int:
    if limit == 0:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
        return datetime.fromisoformat(created_at), uuid.UUID(row_id)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise InvalidArgument("cursor is not one this API handed out") from None


def keyset_page(
    query: Select[Any], model: Any, limit: int, cursor: str, *, newest_first: bool = True
) -> Select[Any]:
    """`query` limited to one page after `cursor`, ordered by (created_at, id); one row more than
    the page is fetched, so `page_of` can tell whether there is a next page."""
    key = tuple_(model.created_at, model.id)
    if after := decode_cursor(cursor):
        query = query.where(key < tuple_(*after) if newest_first else key > tuple_(*after))
    order = (model.created_at.desc(), model.id.desc()) if newest_first else (model.created_at, model.id)
    return query.order_by(*order).limit(page_limit(limit) + 1)


def page_of(rows: Sequence[Any], limit: int) -> tuple[list[Any], str]:
    """The page's rows and the cursor of the next page ("" on the last)."""
    limit = page_limit(limit)
    page = list(rows[:limit])
    return page, encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else ""
