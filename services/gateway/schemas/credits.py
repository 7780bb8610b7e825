"""The current user's credits: balance, tier, free videos, and the ledger's history."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from pydantic import BaseModel, Field

from services.gateway.schemas.common import timestamp
from zapcut.accounts.v1 import accounts_pb2 as pb

EntryKind = Literal["grant", "charge", "refund", "renewal"]


class CreditEntryOut(BaseModel):
    id: str
    kind: EntryKind
    amount: int = Field(description="Credits added (> 0) or taken (< 0); 0 for a free video.")
    free_videos: int = Field(
        description="Free videos taken (1) by a charge or given back (-1) by its refund."
    )
    reason: str
    generation_id: str | None = Field(None, description="The generation a charge or refund is for.")
    granted_by: str | None = Field(None, description='The operator who granted, or "system:..."')
    period: str | None = Field(None, description='The month a renewal is for, "YYYY-MM" (UTC).')
    balance_after: int
    created_at: datetime

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "7d1f1c9e-2b0a-4c55-9a51-0d3f1c1e2a10",
                    "kind": "charge",
                    "amount": -1,
                    "free_videos": 0,
                    "reason": "generation",
                    "generation_id": "0b7e0f7a-58a4-4f0c-8d4c-3f0f4d7b9c21",
                    "granted_by": None,
                    "period": None,
                    "balance_after": 19,
                    "created_at": "2026-12-02T10:15:00Z",
                }
            ]
        }
    }

    @classmethod
    def from_pb(cls, row: pb.CreditEntry) -> CreditEntryOut:
        return cls(
            id=row.id,
            # accounts' CHECK constraint keeps it one of the four
            kind=cast("EntryKind", row.kind),
            amount=row.amount,
            free_videos=row.free_videos,
            reason=row.reason,
            generation_id=row.generation_id or None,
            granted_by=row.granted_by or None,
            period=row.period or None,
            balance_after=row.balance_after,
            created_at=timestamp(row.created_at),
        )


class CreditsOut(BaseModel):
    """The balance, and one page of its history (newest first) as `items` and `next_cursor`."""

    balance: int = Field(description="Credits left; each generation beyond the free videos takes one.")
    tier: str = Field(description="The subscription tier.")
    tier_monthly_credits: int = Field(description="Credits the tier grants each calendar month (UTC).")
    free_videos_remaining: int = Field(description="Generations left that take no credit.")
    next_renewal_at: datetime | None = Field(
        None, description="When the tier's next monthly credits are granted; null when it grants none."
    )
    items: list[CreditEntryOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "balance": 19,
                    "tier": "pro",
                    "tier_monthly_credits": 20,
                    "free_videos_remaining": 0,
                    "next_renewal_at": "2027-01-01T00:00:00Z",
                    "items": [],
                    "next_cursor": None,
                }
            ]
        }
    }

    @classmethod
    def from_pb(cls, credits: pb.Credits) -> CreditsOut:
        return cls(
            balance=credits.balance,
            tier=credits.tier,
            tier_monthly_credits=credits.tier_monthly_credits,
            free_videos_remaining=credits.free_videos_remaining,
            next_renewal_at=timestamp(credits.next_renewal_at, credits.HasField("next_renewal_at")),
            items=[CreditEntryOut.from_pb(row) for row in credits.items],
            next_cursor=credits.next_cursor or None,
        )
