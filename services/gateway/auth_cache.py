"""A short-lived cache of Authenticate replies, per gateway process, that revocations empty.

One round trip to accounts fewer for most authenticated requests. Accounts pushes every revocation
(logout, password change, user deletion) over WatchRevocations; a revoked token's entry is dropped
when its message arrives, well within a second. The cache is only used while that stream is live:
until the stream says `subscribed`, whenever it ends or falls silent (accounts repeats `subscribed`
every 2 s), it drops everything and every request asks accounts, as without a cache. Entries also
expire after AUTH_CACHE_TTL_S, and never outlive their session.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from datetime import UTC, datetime

import grpc

from services.gateway.clients import AccountsAsyncStub
from services.gateway.errors import ServiceCallError
from zapcut.accounts.v1 import accounts_pb2 as pb

log = logging.getLogger(__name__)

STREAM_LIFETIME_S = 600  # the stream's deadline; the watcher subscribes again when it ends
SILENCE_S = 5.0  # no message (not even a heartbeat) for this long: the stream is treated as down
RETRY_MIN_S, RETRY_MAX_S = 0.2, 5.0


def token_digest(token: str) -> str:
    """What revocations name a token by: its SHA-256, hex, as accounts stores it (sessions.token)."""
    return hashlib.sha256(token.encode()).hexdigest()


class AuthCache:
    def __init__(self, ttl_s: float, max_entries: int) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.live = False  # whether the revocation stream is up; nothing is cached while it is not
        # Bumped by every revocation and every change of `live`: a reply fetched across one of them
        # is not cached, since it may predate the revocation.
        self.epoch = 0
        self._entries: dict[str, tuple[float, pb.AuthenticatedUser]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: str) -> pb.AuthenticatedUser | None:
        entry = self._entries.get(digest)
        if entry is None or not self.live:
            return None
        if entry[0] <= time.monotonic():
            del self._entries[digest]
            return None
        return entry[1]

    def put(self, digest: str, reply: pb.AuthenticatedUser, epoch: int) -> None:
        if not self.live or epoch != self.epoch or self.ttl_s <= 0:
            return
        ttl = self.ttl_s
        if reply.HasField("expires_at"):
            ttl = min(ttl, (reply.expires_at.ToDatetime(tzinfo=UTC) - datetime.now(UTC)).total_seconds())
        if ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)))  # the oldest
        self._entries[digest] = (time.monotonic() + ttl, reply)

    def revoke(self, revocation: pb.Revocation) -> None:
        self.epoch += 1
        if revocation.token_digest:
            self._entries.pop(revocation.token_digest, None)
        if revocation.user_id:
            for digest in [d for d, (_, r) in self._entries.items() if r.user.id == revocation.user_id]:
                del self._entries[digest]

    def set_live(self, live: bool) -> None:
        self.epoch += 1
        self._entries.clear()
        self.live = live


async def watch_revocations(accounts: AccountsAsyncStub, cache: AuthCache) -> None:
    """Keep the cache fed from accounts' WatchRevocations for the life of the process."""
    delay = RETRY_MIN_S
    while True:
        call = None
        try:
            call = accounts.WatchRevocations(pb.WatchRevocationsRequest(), timeout=STREAM_LIFETIME_S)
            stream = aiter(call)
            while True:
                revocation = await asyncio.wait_for(anext(stream), SILENCE_S)
                if revocation.subscribed:
                    if not cache.live:
                        cache.set_live(True)
                        log.info("auth cache on: watching revocations")
                    delay = RETRY_MIN_S
                else:
                    cache.revoke(revocation)
        except StopAsyncIteration:
            pass
        except (grpc.aio.AioRpcError, ServiceCallError, TimeoutError) as exc:
            if cache.live:
                log.warning("auth cache off until revocations are watched again: %s", _why(exc))
        finally:
            cache.set_live(False)
            if call is not None:
                call.cancel()
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX_S)


def _why(exc: Exception) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    if isinstance(exc, TimeoutError):
        return f"no message for {SILENCE_S:g} s"
    return str(exc)
