"""Redis clients for the services: short timeouts so a dead Redis fails a call fast, and a quick
retry, so the first command after a Redis restart does not fail on a stale pooled connection."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis import Redis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, TimeoutError
from redis.retry import Retry

from services.common.settings import RedisConfig


def async_redis(settings: RedisConfig, *, read_timeout_extra_s: float = 0.0) -> aioredis.Redis:
    """From REDIS_URL and REDIS_SOCKET_TIMEOUT_S; blocking reads (XREADGROUP) add their block time
    as read_timeout_extra_s."""
    timeout = settings.redis_socket_timeout_s
    return aioredis.Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_connect_timeout=timeout,
        socket_timeout=timeout + read_timeout_extra_s,
        retry=AsyncRetry(ExponentialBackoff(cap=0.2, base=0.05), 2),
        retry_on_error=[ConnectionError, TimeoutError],
        health_check_interval=30,
    )


def sync_redis(settings: RedisConfig, *, socket_timeout: bool = True) -> Redis:
    """A blocking client (RQ is synchronous), from the same settings, with one quick retry. RQ's
    workers pass socket_timeout=False: RQ sets its own for its blocking dequeues."""
    timeout = settings.redis_socket_timeout_s
    return Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_connect_timeout=timeout,
        socket_timeout=timeout if socket_timeout else None,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
        health_check_interval=30,
    )


def async_redis_subscriber(settings: RedisConfig, *, health_check_s: float = 2.0) -> aioredis.Redis:
    """For a pub/sub subscription that must notice every gap: no retry (after a reconnect redis-py
    would subscribe again silently, and what was published meanwhile would be lost unnoticed), no
    read timeout (a subscription waits for messages), and a PING every health_check_s while it
    waits, so a dead connection is found within seconds."""
    timeout = settings.redis_socket_timeout_s
    return aioredis.Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_connect_timeout=timeout,
        socket_timeout=None,
        retry=AsyncRetry(ExponentialBackoff(), 0),
        health_check_interval=health_check_s,
    )
