"""Sign-up, login sessions, the current user's profile, and deleting an account."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.accounts.models import (
    GRANTED_BY_SIGN_UP,
    AdProject,
    Brand,
    CreditEntry,
    OutboxEvent,
    Session,
    User,
)
from services.accounts.passwords import PasswordWork, needs_rehash
from services.accounts.rate_limit import FailedPasswordLimiter, SignUpLimiter
from services.accounts.tokens import new_token, token_digest
from services.accounts.validation import check_length, normalize_email
from services.common.db import table_of
from services.common.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from services.common.events import USER_DELETED
from services.common.outbox import new_event
from services.common.password_policy import password_problem

BAD_LOGIN = "email or password is wrong"
BAD_TOKEN = "missing, expired or revoked token"  # noqa: S105 - a message


def check_password(password: str, field: str = "password") -> str:
    """A password that may be set: 8 to 128 characters, not common, not one character repeated."""
    check_length(password, field, 8, 128)
    if problem := password_problem(password):
        raise InvalidArgument(f"{field}: {problem}")
    return password


async def sign_up(
    sessions: async_sessionmaker,
    passwords: PasswordWork,
    limiter: SignUpLimiter,
    email: str,
    name: str,
    password: str,
    client_ip: str,
    credits: int,
) -> User:
    email = normalize_email(email)
    check_length(name.strip(), "name", 1, 100)
    check_password(password)
    await limiter.hit(client_ip)
    password_hash = await passwords.hash(password)
    user = User(email=email, name=name, password_hash=password_hash, credits=credits)
    try:
        async with sessions() as session, session.begin():
            session.add(user)
            if credits:
                # The starting credits are the ledger's first row, so it sums to the balance.
                await session.flush()
                session.add(
                    CreditEntry(
                        user_id=user.id,
                        kind="grant",
                        amount=credits,
                        reason="starting credits",
                        granted_by=GRANTED_BY_SIGN_UP,
                        balance_after=credits,
                    )
                )
    except IntegrityError:
        raise AlreadyExists("an account with this email already exists") from None
    return user


async def log_in(
    sessions: async_sessionmaker,
    passwords: PasswordWork,
    limiter: FailedPasswordLimiter,
    email: str,
    password: str,
    client_ip: str,
    ttl: timedelta,
) -> tuple[str, datetime, User]:
    email = normalize_email(email)
    async with limiter.attempt(email, client_ip) as attempt:
        async with sessions() as session:
            user = (
                await session.execute(select(User).where(func.lower(User.email) == email))
            ).scalar_one_or_none()
        # Checked with no database connection held: a burst of logins must not starve the pool.
        # Unknown email and wrong password cost the same (a full Argon2 verification) and read the same.
        ok = await passwords.verify(user.password_hash if user else None, password) and user is not None
        attempt.record(ok)
    if not ok or user is None:
        raise Unauthenticated(BAD_LOGIN)
    new_hash = None
    if needs_rehash(user.password_hash):
        try:
            new_hash = await passwords.hash(password)
        except ResourceExhausted:
            pass  # hashing is busy (sign-ups); the login goes ahead and a later one rehashes
    token = new_token()
    expires_at = datetime.now(UTC) + ttl
    async with sessions() as session, session.begin():
        if new_hash is not None:
            await session.execute(update(User).where(User.id == user.id).values(password_hash=new_hash))
        session.add(Session(user_id=user.id, token=token_digest(token), expires_at=expires_at))
    return token, expires_at, user


async def authenticate(sessions: async_sessionmaker, token: str) -> tuple[User, Session]:
    """The user behind a bearer token: one indexed query on the token's digest."""
    if not token:
        raise Unauthenticated(BAD_TOKEN)
    async with sessions() as session:
        row = (
            await session.execute(
                select(User, Session)
                .join(Session, Session.user_id == User.id)
                .where(Session.token == token_digest(token), Session.expires_at > func.now())
            )
        ).one_or_none()
    if row is None:
        raise Unauthenticated(BAD_TOKEN)
    return row[0], row[1]


async def log_out(sessions: async_sessionmaker, token: str) -> None:
    async with sessions() as session, session.begin():
        await session.execute(delete(Session).where(Session.token == token_digest(token)))


async def get_user(sessions: async_sessionmaker, user_id: uuid.UUID) -> User:
    async with sessions() as session:
        user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    return user


async def update_user(
    sessions: async_sessionmaker,
    passwords: PasswordWork,
    limiter: FailedPasswordLimiter,
    user_id: uuid.UUID,
    *,
    name: str | None,
    new_password: str | None,
    current_password: str,
    keep_token: str,
    client_ip: str,
) -> User:
    if name is not None:
        check_length(name.strip(), "name", 1, 100)
    checked_hash = new_hash = None
    if new_password is not None:
        check_password(new_password, "new_password")
        # A wrong current_password is a failed password check for the account, limited like a
        # login (one counter per email and address), and both Argon2 steps run with no database
        # connection held.
        user = await get_user(sessions, user_id)
        async with limiter.attempt(user.email, client_ip) as attempt:
            ok = await passwords.verify(user.password_hash, current_password)
            attempt.record(ok)
        if not ok:
            raise PermissionDenied("current_password is wrong")
        checked_hash = user.password_hash
        new_hash = await passwords.hash(new_password)
    async with sessions() as session, session.begin():
        user = await session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("user not found")
        if name is not None:
            user.name = name
        if new_hash is not None:
            if user.password_hash != checked_hash:
                # Changed by another request since it was checked: what was sent is not current.
                raise PermissionDenied("current_password is wrong")
            user.password_hash = new_hash
            # A new password ends every other session: whoever knew the old one is logged out.
            await session.execute(
                delete(Session).where(Session.user_id == user_id, Session.token != token_digest(keep_token))
            )
        await session.flush()
        await session.refresh(user)
    return user


async def delete_user(sessions: async_sessionmaker, user_id: uuid.UUID) -> None:
    """Delete the user (the database cascades to everything below it here) and record the event
    that makes jobs and media delete what they hold for the user's brands and projects."""
    async with sessions() as session, session.begin():
        user = await session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("user not found")
        brand_ids = (await session.execute(select(Brand.id).where(Brand.user_id == user_id))).scalars().all()
        project_ids = (
            (await session.execute(select(AdProject.id).where(AdProject.user_id == user_id))).scalars().all()
        )
        await session.execute(
            new_event(
                table_of(OutboxEvent),
                USER_DELETED,
                user_id,
                {
                    "user_id": str(user_id),
                    "brand_ids": [str(b) for b in brand_ids],
                    "project_ids": [str(p) for p in project_ids],
                },
            )
        )
        await session.delete(user)


async def purge_expired_sessions(sessions: async_sessionmaker) -> int:
    async with sessions() as session, session.begin():
        result = await session.execute(delete(Session).where(Session.expires_at <= func.now()))
    return result.rowcount or 0
