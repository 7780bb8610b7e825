"""Revoked sessions, pushed to every gateway process that caches Authenticate (WatchRevocations).

After the transaction that revokes sessions commits (a logout, a password change, a user deleted),
accounts publishes the revocation on a Redis pub/sub channel; every accounts replica relays that
channel to the WatchRevocations streams it serves, so a logout on one replica reaches the gateways
subscribed to another. Pub/sub reaches only who is subscribed at that moment, so a stream says
`subscribed` only once Redis has confirmed the subscription, and ends (UNAVAILABLE) as soon as its
subscription breaks: a gateway trusts its cache only while its stream is up. A publish that fails
is logged; the gateway's short cache TTL bounds what it could leave behind.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.accounts.config import Settings
from services.common.errors import Unavailable
from services.common.redis_clients import async_redis_subscriber
from zapcut.accounts.v1 import accounts_pb2 as pb

log = logging.getLogger(__name__)

CHANNEL = "zapcut:accounts:revocations"
USER, TOKEN = "user:", "token:"
POLL_S = 0.5  # how often a waiting stream checks whether the service is stopping
# A quiet stream repeats `subscribed` this often, so a gateway can tell a live stream from a hung one.
HEARTBEAT_S = 2.0


async def publish_user(redis: aioredis.Redis, user_id: uuid.UUID | str) -> None:
    """Every session of the user (password changed, user deleted)."""
    await _publish(redis, f"{USER}{user_id}")


async def publish_token(redis: aioredis.Redis, digest: str) -> None:
    """The session of one token (logout), by its SHA-256 digest, as sessions.token stores it."""
    await _publish(redis, f"{TOKEN}{digest}")


async def _publish(redis: aioredis.Redis, message: str) -> None:
    try:
        await redis.publish(CHANNEL, message)
    except RedisError as exc:
        log.warning("revocation not pushed to the gateways (%s: %s): %s", type(exc).__name__, exc, message)


def revocation(data: bytes | str) -> pb.Revocation | None:
    text = data.decode() if isinstance(data, bytes) else data
    if text.startswith(USER):
        return pb.Revocation(user_id=text.removeprefix(USER))
    if text.startswith(TOKEN):
        return pb.Revocation(token_digest=text.removeprefix(TOKEN))
    return None


class RevocationFeed:
    """The WatchRevocations streams of this process: one Redis subscription each."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stopping = asyncio.Event()

    def stop(self) -> None:
        """End every stream (at shutdown: long-lived streams would hold the server's grace period)."""
        self.stopping.set()

    async def watch(self) -> AsyncIterator[pb.Revocation]:
        redis = async_redis_subscriber(self.settings)
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            subscribed, last_sent = False, 0.0
            loop = asyncio.get_running_loop()
            while not self.stopping.is_set():
                message = await pubsub.get_message(timeout=POLL_S)
                if message is not None and message["type"] == "subscribe":
                    subscribed = True
                elif message is not None and message["type"] == "message":
                    if item := revocation(message["data"]):
                        last_sent = loop.time()
                        yield item
                    continue
                if subscribed and loop.time() - last_sent >= HEARTBEAT_S:
                    last_sent = loop.time()
                    yield pb.Revocation(subscribed=True)
        except (RedisError, OSError) as exc:
            raise Unavailable(f"redis unavailable; revocations not watched ({type(exc).__name__})") from None
        finally:
            await pubsub.aclose()
            await redis.aclose()
