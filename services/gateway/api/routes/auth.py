"""/api/auth: sign-up, login, logout and the current user."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from google.protobuf import empty_pb2

from services.gateway.auth import CurrentCaller, forget_revoked
from services.gateway.auth_cache import token_digest
from services.gateway.clients import Accounts
from services.gateway.schemas.auth import LogIn, SignUp, TokenOut, UpdateMe, UserOut
from services.gateway.schemas.common import timestamp
from zapcut.accounts.v1 import accounts_pb2 as pb

router = APIRouter(prefix="/auth", tags=["auth"])


def client_ip(request: Request) -> str:
    """The client's address for accounts' rate limits: the connection's, or the X-Forwarded-For
    that uvicorn accepted from a trusted proxy (FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else ""


@router.post(
    "/signup",
    status_code=201,
    response_model=UserOut,
    responses={409: {"description": "The email is taken"}},
)
async def sign_up(body: SignUp, request: Request, accounts: Accounts) -> UserOut:
    user = await accounts.SignUp(
        pb.SignUpRequest(
            email=body.email, name=body.name, password=body.password, client_ip=client_ip(request)
        ),
    )
    return UserOut.from_pb(user)


@router.post(
    "/login",
    response_model=TokenOut,
    responses={401: {"description": "Wrong email or password"}},
)
async def log_in(body: LogIn, request: Request, accounts: Accounts) -> TokenOut:
    session = await accounts.LogIn(
        pb.LogInRequest(email=body.email, password=body.password, client_ip=client_ip(request))
    )
    return TokenOut(access_token=session.access_token, expires_at=timestamp(session.expires_at))


@router.post("/logout", status_code=204)
async def log_out(request: Request, caller: CurrentCaller, accounts: Accounts) -> Response:
    try:
        await accounts.LogOut(pb.LogOutRequest(token=caller.token))
    finally:
        # Also when the call failed: accounts may have ended the session all the same.
        forget_revoked(request, pb.Revocation(token_digest=token_digest(caller.token)))
    return Response(status_code=204)


@router.get("/me", response_model=UserOut)
async def get_me(caller: CurrentCaller, accounts: Accounts) -> UserOut:
    # From accounts, not the caller's (maybe cached) Authenticate reply: name and credits change.
    return UserOut.from_pb(await accounts.GetMe(empty_pb2.Empty()))


@router.patch("/me", response_model=UserOut, responses={403: {"description": "current_password is wrong"}})
async def update_me(body: UpdateMe, request: Request, caller: CurrentCaller, accounts: Accounts) -> UserOut:
    update = pb.UpdateMeRequest(
        current_password=body.current_password or "", token=caller.token, client_ip=client_ip(request)
    )
    if body.name is not None:
        update.name = body.name
    if body.new_password is not None:
        update.new_password = body.new_password
    try:
        return UserOut.from_pb(await accounts.UpdateMe(update))
    finally:
        if body.new_password is not None:  # every other session of the user ended
            forget_revoked(request, pb.Revocation(user_id=caller.id))


@router.delete("/me", status_code=204)
async def delete_me(request: Request, caller: CurrentCaller, accounts: Accounts) -> Response:
    try:
        await accounts.DeleteMe(empty_pb2.Empty())
    finally:
        forget_revoked(request, pb.Revocation(user_id=caller.id))
    return Response(status_code=204)
