"""Password hashing with Argon2id (argon2-cffi's defaults, which follow RFC 9106's second choice).

One hash or check costs ~100 ms of CPU and 64 MiB. They run in threads, at most a few at once
(PASSWORD_HASH_CONCURRENCY); when more than PASSWORD_HASH_QUEUE calls are already waiting, a new
one is refused at once with RESOURCE_EXHAUSTED (429) instead of piling up behind a login burst.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.common.errors import ResourceExhausted

_hasher = PasswordHasher()

# Verified against when the email is unknown, so "no such user" costs what "wrong password" costs.
_DUMMY_HASH = _hasher.hash("not-a-real-password: timing equaliser")


def _hash(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """The hash was made with other parameters than today's: rehash it at the next login."""
    return _hasher.check_needs_rehash(password_hash)


class PasswordWork:
    def __init__(self, concurrency: int = 2, max_waiting: int = 32):
        self._slots = asyncio.Semaphore(concurrency)
        self._max_waiting = max_waiting
        self._waiting = 0

    async def _run(self, fn, *args):
        if self._waiting >= self._max_waiting:
            raise ResourceExhausted("too many sign-ins in progress; try again in a moment", retry_after_s=1)
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            return await asyncio.to_thread(fn, *args)
        finally:
            self._slots.release()

    async def hash(self, password: str) -> str:
        return await self._run(_hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no hash (unknown user) it costs the same and says False."""
        return await self._run(_verify, password_hash, password)
