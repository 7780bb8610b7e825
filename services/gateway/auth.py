"""Who is calling: the bearer token, checked by accounts (Authenticate), whose reply the gateway
keeps for a moment while accounts pushes it revocations (services.gateway.auth_cache)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from services.common.context import user_id_var
from services.gateway.auth_cache import AuthCache, token_digest
from services.gateway.clients import Accounts
from zapcut.accounts.v1 import accounts_pb2 as pb

UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


@dataclass
class Caller:
    user: pb.User
    token: str

    @property
    def id(self) -> str:
        return self.user.id


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        raise HTTPException(401, "missing or malformed bearer token", headers=UNAUTHORIZED_HEADERS)
    return token


async def current_caller(request: Request, accounts: Accounts) -> Caller:
    token = bearer_token(request)
    cache: AuthCache = request.app.state.auth_cache
    digest = token_digest(token)
    reply = cache.get(digest)
    if reply is None:
        epoch = cache.epoch
        reply = await accounts.Authenticate(pb.AuthenticateRequest(token=token))
        cache.put(digest, reply, epoch)
    # Every later call of this request carries the user id (x-user-id) to the services.
    user_id_var.set(reply.user.id)
    return Caller(user=reply.user, token=token)


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def forget_revoked(request: Request, revocation: pb.Revocation) -> None:
    """Drop what this process cached for a session it has just ended, without waiting for the
    revocation to come back over WatchRevocations: the caller's next request, on the same gateway,
    must be refused at once. Other gateway processes drop theirs when the revocation reaches them."""
    cache: AuthCache = request.app.state.auth_cache
    cache.revoke(revocation)
