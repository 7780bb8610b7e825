"""gRPC servicer of AccountsAdmin, the operators' calls (credits and tiers): translates between
protobuf and the domain modules once the caller has shown the operators' ADMIN_TOKEN.

The internal token every call carries is not enough: the gateway has it. ADMIN_TOKEN comes as
x-admin-token metadata, which only the admin CLI sends; without ADMIN_TOKEN set, every call is
refused."""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker

from services.accounts import ledger, tiers
from services.accounts.config import Settings
from services.accounts.models import User
from services.accounts.servicer import credits_pb, user_pb
from services.common.errors import PermissionDenied
from zapcut.accounts.v1 import accounts_pb2 as pb
from zapcut.accounts.v1 import accounts_pb2_grpc

ADMIN_TOKEN_HEADER = "x-admin-token"  # noqa: S105 - a header name
SHOWN_ENTRIES = 20

log = logging.getLogger(__name__)


class AccountsAdminServicer(accounts_pb2_grpc.AccountsAdminServicer):
    def __init__(self, sessions: async_sessionmaker, settings: Settings):
        self.sessions = sessions
        self.settings = settings
        token = settings.admin_token
        self._token = token.get_secret_value().encode() if token is not None else None

    def _check_operator(self, context) -> None:
        given = dict(context.invocation_metadata() or ()).get(ADMIN_TOKEN_HEADER, "")
        if self._token is None:
            raise PermissionDenied("the admin API is off: ADMIN_TOKEN is not set on accounts")
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), self._token):
            log.warning("refused an admin call: missing or wrong admin token")
            raise PermissionDenied("missing or invalid admin token")

    async def _admin_credits(self, user: User, limit: int = SHOWN_ENTRIES) -> pb.AdminCredits:
        _, rows, next_cursor = await ledger.history(self.sessions, user.id, limit, "")
        return pb.AdminCredits(user=user_pb(user), credits=credits_pb(user, rows, next_cursor, self.settings))

    async def GrantCredits(self, request, context):
        self._check_operator(context)
        row, user = await ledger.grant(
            self.sessions, request.email, request.credits, request.reason, request.granted_by
        )
        log.info("%s granted %d credits to user %s: %s", row.granted_by, row.amount, user.id, row.reason)
        return await self._admin_credits(user)

    async def SetTier(self, request, context):
        self._check_operator(context)
        user, renewal = await tiers.set_tier(
            self.sessions, request.email, request.tier, self.settings.tier_monthly_credits, datetime.now(UTC)
        )
        log.info(
            "%s set user %s to the %s tier%s",
            request.granted_by or "an operator",
            user.id,
            user.subscription_tier,
            f" (renewed: {renewal.amount} credits for {renewal.period})" if renewal else "",
        )
        return await self._admin_credits(user)

    async def GetUserCredits(self, request, context):
        self._check_operator(context)
        async with self.sessions() as session:
            user = await ledger.user_by_email(session, request.email)
        return await self._admin_credits(user, request.limit)

    async def RenewTiers(self, request, context):
        self._check_operator(context)
        period = request.period or ledger.period_of(datetime.now(UTC))
        renewed = await tiers.renew(self.sessions, self.settings.tier_monthly_credits, period)
        return pb.RenewTiersResponse(period=period, renewed=renewed)
