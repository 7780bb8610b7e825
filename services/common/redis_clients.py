"""Redis clients (asyncio) for the services: short timeouts so a dead Redis fails a call fast, and one
quick retry, so the first command after a Redis restart does not fail on a stale pooled connection."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, TimeoutError

from services.common.settings import RedisConfig


def async_redis(settings: RedisConfig, *, read_timeout_extra_s: float = 0.0) -> aioredis.Redis:
    """From REDIS_URL and REDIS_SOCKET_TIMEOUT_S; blocking reads (XREADGROUP) add their block time
    as read_timeout_extra_s."""
    timeout = settings.redis_socket_timeout_s
    return aioredis.Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_connect_timeout=timeout,
        socket_timeout=timeout + read_timeout_extra_s,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 2),
        retry_on_error=[ConnectionError, TimeoutError],
        health_check_interval=30,
    )
