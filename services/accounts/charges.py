"""Paying for generations: a free video while the user has some left (FREE_VIDEOS), else a credit.

Both are idempotent per generation id: the jobs service retries a charge freely (a synchronous call,
so the user hears 402 at once), and a refund arrives as an event that may be delivered more than
once. Both are rows of the credits ledger (services/accounts/ledger.py), unique per (generation,
kind): the charge row says what was taken (a free video, or a credit), the refund row that it was
given back.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.accounts import ledger
from services.accounts.models import CreditEntry, User
from services.common.errors import ERROR_REASON_TRAILER, FailedPrecondition, NotFound

PAYMENT_REQUIRED = "payment_required"


class PaymentRequired(FailedPrecondition):
    def __init__(self):
        super().__init__("no free videos or credits left; buy credits to generate more ads")
        # The gateway answers 402 for this reason (and 409 for other failed preconditions).
        self.trailers = ((ERROR_REASON_TRAILER, PAYMENT_REQUIRED),)


def kind_of(charge_row: CreditEntry) -> str:
    """What a charge (or its refund) row took or gave back: "free_video" or "credit"."""
    return "free_video" if charge_row.free_videos else "credit"


async def _entry(session: AsyncSession, generation_id: uuid.UUID, kind: str) -> CreditEntry | None:
    query = select(CreditEntry).where(CreditEntry.generation_id == generation_id, CreditEntry.kind == kind)
    return (await session.execute(query)).scalar_one_or_none()


async def charge(
    sessions: async_sessionmaker, user_id: uuid.UUID, generation_id: uuid.UUID, free_videos: int
) -> tuple[CreditEntry, bool, User]:
    """The generation's charge row (made now, or found), whether it was refunded, and the user."""
    async with sessions() as session, session.begin():
        user = await ledger.locked_user(session, user_id)
        if user is None:
            raise NotFound("user not found")
        row = await _entry(session, generation_id, "charge")
        if row is None:
            if user.free_videos_used < free_videos:
                amount, taken, reason = 0, 1, "generation (free video)"
            elif user.credits > 0:
                amount, taken, reason = -1, 0, "generation"
            else:
                raise PaymentRequired()
            row = await ledger.record(
                session, user, "charge", amount, reason, free_videos=taken, generation_id=generation_id
            )
        if row is None:
            # Charged meanwhile by a call for another user (the user lock orders this user's calls).
            row = await _entry(session, generation_id, "charge")
        if row is None or row.user_id != user_id:
            raise NotFound("this generation was charged to another user")
        refunded = await _entry(session, generation_id, "refund") is not None
    return row, refunded, user


async def give_back(
    session: AsyncSession, user_id: uuid.UUID, generation_id: uuid.UUID, reason: str
) -> CreditEntry | None:
    """Give the generation's charge back to the user, once: the refund row is unique per
    generation, so a repeated request finds it done. The refund row made now, or None when there
    is nothing to give back (never charged, already given back, or the user is gone: their ledger
    went with them)."""
    user = await ledger.locked_user(session, user_id)
    row = await _entry(session, generation_id, "charge")
    if user is None or row is None or row.user_id != user_id:
        return None
    return await ledger.record(
        session,
        user,
        "refund",
        -row.amount,
        reason,
        free_videos=-row.free_videos,
        generation_id=generation_id,
    )
