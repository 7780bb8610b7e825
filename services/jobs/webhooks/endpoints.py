"""A user's webhook endpoints and what was delivered to them (as the user in x-user-id): register,
list, read, change, remove, rotate the secret, list deliveries. Another user's endpoint is NOT_FOUND,
as an unknown one is."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from sqlalchemy import Row, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import table_of
from services.common.errors import InvalidArgument, NotFound
from services.common.ids import parse_id
from services.common.pagination import keyset_page, page_of
from services.jobs.config import Settings
from services.jobs.models import WEBHOOK_EVENTS, WebhookDelivery, WebhookEndpoint
from services.jobs.webhooks.addresses import check_url
from services.jobs.webhooks.secrets_box import SecretBox, new_secret

endpoints = table_of(WebhookEndpoint)
deliveries = table_of(WebhookDelivery)

MAX_DESCRIPTION = 500
# Within the gateway's 5 s deadline for the call.
RESOLVE_TIMEOUT_S = 3.0


def check_events(events: Sequence[str]) -> list[str]:
    if not events:
        raise InvalidArgument("events must name at least one event")
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if unknown:
        raise InvalidArgument(f"events: unknown event {unknown[0]!r}; one of {', '.join(WEBHOOK_EVENTS)}")
    return sorted(set(events), key=WEBHOOK_EVENTS.index)


def check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        raise InvalidArgument(f"description must be at most {MAX_DESCRIPTION} characters")
    if "\x00" in description:  # Postgres text can't hold it
        raise InvalidArgument("description must not contain NUL characters")
    return description


async def checked_url(url: str, settings: Settings) -> str:
    # Resolving the host's name blocks: in a thread, and bounded, so a slow resolver makes a 422
    # rather than the caller's deadline running out.
    try:
        target = await asyncio.wait_for(
            asyncio.to_thread(check_url, url, settings.webhook_allow_loopback), RESOLVE_TIMEOUT_S
        )
    except TimeoutError:
        raise InvalidArgument(f"url host did not resolve within {RESOLVE_TIMEOUT_S:g} s") from None
    return target.url


async def create(
    engine: AsyncEngine,
    settings: Settings,
    box: SecretBox,
    user_id: uuid.UUID,
    *,
    url: str,
    events: Sequence[str],
    description: str,
) -> tuple[Row, str]:
    """The new endpoint and its secret, which is never shown again."""
    values = {
        "user_id": user_id,
        "events": check_events(events),
        "description": check_description(description),
        "url": await checked_url(url, settings),
    }
    secret = new_secret()
    async with engine.begin() as conn:
        # One user's creates take turns, so two at once can't both pass the limit.
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"webhooks:{user_id}"}
        )
        count = await conn.scalar(select(func.count()).where(endpoints.c.user_id == user_id))
        if (count or 0) >= settings.webhook_max_endpoints_per_user:
            raise InvalidArgument(
                f"url: a user may register at most {settings.webhook_max_endpoints_per_user} webhook"
                " endpoints; remove one first"
            )
        row = (
            await conn.execute(
                endpoints.insert().values(**values, secret_encrypted=box.seal(secret)).returning(endpoints)
            )
        ).one()
    return row, secret


async def page(engine: AsyncEngine, user_id: uuid.UUID, limit: int, cursor: str) -> tuple[list[Row], str]:
    query = keyset_page(select(endpoints).where(endpoints.c.user_id == user_id), endpoints.c, limit, cursor)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return page_of(list(rows), limit)


async def get(engine: AsyncEngine, user_id: uuid.UUID, endpoint_id: str) -> Row:
    eid = parse_id(endpoint_id, "id")
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(endpoints).where(endpoints.c.id == eid, endpoints.c.user_id == user_id))
        ).one_or_none()
    if row is None:
        raise NotFound(f"webhook endpoint {eid} not found")
    return row


async def change(
    engine: AsyncEngine,
    settings: Settings,
    user_id: uuid.UUID,
    endpoint_id: str,
    *,
    url: str | None = None,
    events: Sequence[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> Row:
    """The endpoint with the fields given changed (None: unchanged)."""
    eid = (await get(engine, user_id, endpoint_id)).id
    values: dict = {}
    if url is not None:
        values["url"] = await checked_url(url, settings)
    if events is not None:
        values["events"] = check_events(events)
    if description is not None:
        values["description"] = check_description(description)
    if enabled is not None:
        values["enabled"] = enabled
    if not values:
        return await get(engine, user_id, endpoint_id)
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                update(endpoints)
                .where(endpoints.c.id == eid, endpoints.c.user_id == user_id)
                .values(**values)
                .returning(endpoints)
            )
        ).one_or_none()
    if row is None:
        raise NotFound(f"webhook endpoint {eid} not found")
    return row


async def rotate_secret(
    engine: AsyncEngine, box: SecretBox, user_id: uuid.UUID, endpoint_id: str
) -> tuple[Row, str]:
    """A new secret for the endpoint (shown this once); deliveries from now on are signed with it."""
    eid = parse_id(endpoint_id, "id")
    secret = new_secret()
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                update(endpoints)
                .where(endpoints.c.id == eid, endpoints.c.user_id == user_id)
                .values(secret_encrypted=box.seal(secret))
                .returning(endpoints)
            )
        ).one_or_none()
    if row is None:
        raise NotFound(f"webhook endpoint {eid} not found")
    return row, secret


async def remove(engine: AsyncEngine, user_id: uuid.UUID, endpoint_id: str) -> None:
    """The endpoint and its deliveries (cascade); a delivery being sent right now may still arrive."""
    eid = parse_id(endpoint_id, "id")
    async with engine.begin() as conn:
        removed = await conn.execute(
            delete(endpoints).where(endpoints.c.id == eid, endpoints.c.user_id == user_id)
        )
    if not removed.rowcount:
        raise NotFound(f"webhook endpoint {eid} not found")


async def deliveries_page(
    engine: AsyncEngine, user_id: uuid.UUID, endpoint_id: str, limit: int, cursor: str
) -> tuple[list[Row], str]:
    """The endpoint's deliveries, newest first."""
    eid = (await get(engine, user_id, endpoint_id)).id
    query = keyset_page(
        select(deliveries).where(deliveries.c.endpoint_id == eid), deliveries.c, limit, cursor
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return page_of(list(rows), limit)
