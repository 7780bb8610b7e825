"""Paying for generations: a free video while the user has some left (FREE_VIDEOS), else a credit.

Both are idempotent per generation id: the jobs service retries a charge freely (a synchronous call,
so the user hears 402 at once), and a refund arrives as an event that may be delivered more than
once. The charges row (unique per generation) says what was taken and whether it was given back.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.accounts.models import Charge, User
from services.common.errors import ERROR_REASON_TRAILER, FailedPrecondition, NotFound

PAYMENT_REQUIRED = "payment_required"


class PaymentRequired(FailedPrecondition):
    def __init__(self):
        super().__init__("no free videos or credits left; buy credits to generate more ads")
        # The gateway answers 402 for this reason (and 409 for other failed preconditions).
        self.trailers = ((ERROR_REASON_TRAILER, PAYMENT_REQUIRED),)


async def charge(
    sessions: async_sessionmaker, user_id: uuid.UUID, generation_id: uuid.UUID, free_videos: int
) -> tuple[Charge, User]:
    try:
        async with sessions() as session, session.begin():
            user = await session.get(User, user_id, with_for_update=True)
            if user is None:
                raise NotFound("user not found")
            existing = (
                await session.execute(select(Charge).where(Charge.generation_id == generation_id))
            ).scalar_one_or_none()
            if existing is not None:
                return existing, user
            if user.free_videos_used < free_videos:
                user.free_videos_used += 1
                kind = "free_video"
            elif user.credits > 0:
                user.credits -= 1
                kind = "credit"
            else:
                raise PaymentRequired()
            row = Charge(user_id=user_id, generation_id=generation_id, kind=kind)
            session.add(row)
        return row, user
    except IntegrityError:
        # The same generation charged concurrently: the other call won; report its charge.
        async with sessions() as session:
            row = (
                await session.execute(select(Charge).where(Charge.generation_id == generation_id))
            ).scalar_one()
            return row, await session.get(User, user_id)


async def give_back(session: AsyncSession, user_id: uuid.UUID, generation_id: uuid.UUID) -> Charge | None:
    """Give the generation's charge back to the user, once: the charge row records when it was
    (refunded_at), so a repeated request finds it done. The charge given back now, or None when
    there is nothing to give back (never charged, already given back, or the user is gone: their
    charges went with them)."""
    user = await session.get(User, user_id, with_for_update=True)
    row = (
        await session.execute(select(Charge).where(Charge.generation_id == generation_id).with_for_update())
    ).scalar_one_or_none()
    if user is None or row is None or row.user_id != user_id or row.refunded_at is not None:
        return None
    if row.kind == "free_video":
        user.free_videos_used = max(0, user.free_videos_used - 1)
    else:
        user.credits += 1
    row.refunded_at = datetime.now(UTC)
    return row
