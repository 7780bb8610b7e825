"""The credits ledger: every change of a user's credits is a credit_ledger row, written in the same
transaction as the change of users.credits, under the user's row lock, so the balance is always the
sum of the user's rows and each row's balance_after is the balance it left.

The rows that must happen once (a generation's charge, its refund, a tier's renewal for a period)
are inserted with ON CONFLICT DO NOTHING against their unique constraints: a retry, a redelivered
event, a rerun or a second replica finds the row there and changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.accounts.models import CreditEntry, User
from services.common.errors import InvalidArgument, NotFound
from services.common.pagination import keyset_page, page_of

MAX_GRANT = 1_000_000
# users.credits and balance_after are Postgres integers.
MAX_BALANCE = 2**31 - 1
MAX_REASON_LENGTH = 500


async def locked_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id, with_for_update=True, populate_existing=True)


async def record(session: AsyncSession, user: User, kind: str, amount: int, reason: str, **values: Any):
    """Add a row to the ledger of `user` (locked in this transaction) and apply it to the user's
    credits and free videos. None when a unique constraint says it was recorded already."""
    balance = user.credits + amount
    if balance > MAX_BALANCE:
        raise InvalidArgument(f"the balance would exceed {MAX_BALANCE} credits")
    statement = (
        insert(CreditEntry)
        .values(user_id=user.id, kind=kind, amount=amount, reason=reason, balance_after=balance, **values)
        .on_conflict_do_nothing()
        .returning(CreditEntry)
    )
    row = (await session.scalars(statement)).one_or_none()
    if row is not None:
        user.credits = balance
        # A free video given back that was never counted (free_videos_used set by hand) stays at 0.
        user.free_videos_used = max(0, user.free_videos_used + values.get("free_videos", 0))
    return row


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not 1 <= len(reason) <= MAX_REASON_LENGTH:
        raise InvalidArgument(f"reason must be 1 to {MAX_REASON_LENGTH} characters")
    return reason


async def grant(
    sessions: async_sessionmaker, email: str, credits: int, reason: str, granted_by: str
) -> tuple[CreditEntry, User]:
    """An operator's grant of credits to the user with this email."""
    if not 1 <= credits <= MAX_GRANT:
        raise InvalidArgument(f"credits must be between 1 and {MAX_GRANT}")
    reason, granted_by = check_reason(reason), granted_by.strip()
    if not 1 <= len(granted_by) <= 200:
        raise InvalidArgument("granted_by must name the operator (1 to 200 characters)")
    async with sessions() as session, session.begin():
        user = await user_by_email(session, email, lock=True)
        row = await record(session, user, "grant", credits, reason, granted_by=granted_by)
    return row, user


async def user_by_email(session: AsyncSession, email: str, lock: bool = False) -> User:
    query = select(User).where(User.email == email.strip().lower())
    user = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if user is None:
        raise NotFound("no user has this email")
    return user


async def history(
    sessions: async_sessionmaker, user_id: uuid.UUID, limit: int, cursor: str
) -> tuple[User, list[CreditEntry], str]:
    """The user and one page of their ledger, newest first."""
    async with sessions() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound("user not found")
        query = keyset_page(
            select(CreditEntry).where(CreditEntry.user_id == user_id), CreditEntry, limit, cursor
        )
        rows, next_cursor = page_of(list((await session.scalars(query)).all()), limit)
    return user, rows, next_cursor


def period_of(moment: datetime) -> str:
    """The renewal period a moment falls in: its calendar month in UTC, "YYYY-MM"."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def next_period_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)
