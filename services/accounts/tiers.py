"""Subscription tiers: each grants credits once per calendar month (UTC), TIER_MONTHLY_CREDITS.

The renewal runs in every accounts replica (renew_forever) and grants each user of a paying tier
their tier's credits for the current period once: the ledger's unique (user_id, period) makes a
rerun, a restart or a second replica a no-op for a user already renewed, and the user's row lock
orders two replicas renewing the same user.

A tier change (SetTier) renews the user at once for the current period if they had no renewal for
it yet; one already granted this period stays as it was (no proration, nothing taken back on a
downgrade), and the new tier's credits come with the next period.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.accounts import ledger
from services.accounts.models import GRANTED_BY_RENEWAL, SUBSCRIPTION_TIERS, CreditEntry, User
from services.common.errors import InvalidArgument

log = logging.getLogger(__name__)
BATCH = 500


def check_period(period: str) -> str:
    try:
        datetime.strptime(period, "%Y-%m")  # noqa: DTZ007 - a month, no time of day
    except ValueError:
        raise InvalidArgument("period must be a month, YYYY-MM") from None
    if len(period) != 7:
        raise InvalidArgument("period must be a month, YYYY-MM")
    return period


async def renew_user(
    session: AsyncSession, user: User, monthly_credits: Mapping[str, int], period: str
) -> CreditEntry | None:
    """Grant the locked `user` their tier's credits for `period`, unless they had them already."""
    credits = monthly_credits.get(user.subscription_tier, 0)
    if credits <= 0:
        return None
    return await ledger.record(
        session,
        user,
        "renewal",
        credits,
        f"{user.subscription_tier} tier: monthly credits for {period}",
        granted_by=GRANTED_BY_RENEWAL,
        period=period,
    )


async def renew(sessions: async_sessionmaker, monthly_credits: Mapping[str, int], period: str) -> int:
    """Renew every user of a paying tier for `period`; how many were renewed by this call."""
    check_period(period)
    paying = [tier for tier, credits in monthly_credits.items() if credits > 0]
    renewed, after = 0, uuid.UUID(int=0)
    while paying:
        async with sessions() as session:
            already = exists().where(CreditEntry.user_id == User.id, CreditEntry.period == period)
            ids = (
                await session.scalars(
                    select(User.id)
                    .where(User.subscription_tier.in_(paying), ~already, User.id > after)
                    .order_by(User.id)
                    .limit(BATCH)
                )
            ).all()
        for user_id in ids:
            # One transaction per user: a long batch holds no lock on users it is not renewing.
            async with sessions() as session, session.begin():
                user = await ledger.locked_user(session, user_id)
                if user is not None and await renew_user(session, user, monthly_credits, period):
                    renewed += 1
        if len(ids) < BATCH:
            break
        after = ids[-1]
    return renewed


async def set_tier(
    sessions: async_sessionmaker, email: str, tier: str, monthly_credits: Mapping[str, int], now: datetime
) -> tuple[User, CreditEntry | None]:
    if tier not in SUBSCRIPTION_TIERS:
        raise InvalidArgument(f"tier must be one of {', '.join(SUBSCRIPTION_TIERS)}")
    async with sessions() as session, session.begin():
        user = await ledger.user_by_email(session, email, lock=True)
        user.subscription_tier = tier
        renewal = await renew_user(session, user, monthly_credits, ledger.period_of(now))
    return user, renewal


async def renew_forever(
    sessions: async_sessionmaker, monthly_credits: Mapping[str, int], interval_s: float
) -> None:
    while True:
        period = ledger.period_of(datetime.now(UTC))
        try:
            if renewed := await renew(sessions, monthly_credits, period):
                log.info("renewed the monthly credits of %d users for %s", renewed, period)
        except Exception as exc:  # noqa: BLE001 - try again next time; the unique key keeps it once
            log.warning("renewing the monthly credits for %s failed: %s", period, exc)
        await asyncio.sleep(interval_s)
