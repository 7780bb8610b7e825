"""Password hashing with Argon2id (argon2-cffi's defaults, which follow RFC 9106's second choice).

One hash or check costs ~100 ms of CPU and 64 MiB, so they run in threads, a few at once, in two
separate pools: checks (logins, current_password) and new hashes (sign-ups, new passwords, rehashes).
Each pool has its own slots and its own bound on callers waiting; beyond it a call is refused at once
with RESOURCE_EXHAUSTED (429) rather than piling up. Separate pools mean a burst of sign-ups, which
anyone can send, fills only the hashing queue: a login always finds the checking pool as the other
logins left it.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from prometheus_client import Gauge

from services.common.errors import ResourceExhausted

_hasher = PasswordHasher()

SLOTS_IN_USE = Gauge(
    "zapcut_argon2_slots_in_use",
    "Argon2 slots busy hashing or checking a password, by pool (verify: logins; hash: new passwords).",
    ["pool"],
)

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


class _Pool:
    """At most `slots` calls at once in threads, at most `max_waiting` waiting for a slot."""

    def __init__(self, slots: int, max_waiting: int, busy_message: str, name: str = ""):
        self._in_use = SLOTS_IN_USE.labels(name)
        self._slots = asyncio.Semaphore(slots)
        self._max_waiting = max_waiting
        self._waiting = 0
        self._busy_message = busy_message

    async def run(self, fn, *args):
        if self._waiting >= self._max_waiting:
            raise ResourceExhausted(self._busy_message, retry_after_s=1)
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        self._in_use.inc()
        # A thread can't be stopped: when the caller goes away (its deadline passed), the slot
        # stays taken until the work really ends, or the pool would run more at once than it has
        # slots (seen: accounts at 464 MiB under a burst of logins that timed out).
        work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        work.add_done_callback(self._finished)
        return await asyncio.shield(work)

    def _finished(self, work: asyncio.Future) -> None:
        self._slots.release()
        self._in_use.dec()
        if not work.cancelled():
            work.exception()  # retrieved: an abandoned call's error is not logged as unhandled


class PasswordWork:
    def __init__(
        self, verify_slots: int = 2, verify_queue: int = 32, hash_slots: int = 1, hash_queue: int = 8
    ):
        self._checks = _Pool(
            verify_slots, verify_queue, "too many sign-ins in progress; try again in a moment", "verify"
        )
        self._hashes = _Pool(
            hash_slots, hash_queue, "too many passwords being set right now; try again in a moment", "hash"
        )

    async def hash(self, password: str) -> str:
        return await self._hashes.run(_hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no hash (unknown user) it costs the same and says False."""
        return await self._checks.run(_verify, password_hash, password)
