"""/api/auth/me/credits: the current user's balance and its history. Grants and tiers are the
operators' (python -m services.accounts.admin); no route here changes them."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.auth import CurrentCaller
from services.gateway.clients import Accounts
from services.gateway.schemas.common import Limit
from services.gateway.schemas.credits import CreditsOut
from zapcut.accounts.v1 import accounts_pb2 as pb

router = APIRouter(prefix="/auth/me/credits", tags=["auth"])


@router.get(
    "",
    response_model=CreditsOut,
    operation_id="getMyCredits",
    summary="The current user's credits: balance, tier, free videos left, and the ledger (newest first)",
    responses={422: {"description": "limit out of range, or a cursor this API did not hand out"}},
)
async def get_my_credits(
    caller: CurrentCaller, accounts: Accounts, limit: Limit = 20, cursor: str = ""
) -> CreditsOut:
    return CreditsOut.from_pb(await accounts.GetCredits(pb.GetCreditsRequest(limit=limit, cursor=cursor)))
