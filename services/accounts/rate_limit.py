"""Login attempts per email and per client IP, counted in Redis in fixed windows."""

from __future__ import annotations

import hashlib

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.common.errors import ResourceExhausted, Unavailable


class LoginRateLimiter:
    def __init__(self, redis: aioredis.Redis, limit: int, window_s: int):
        self.redis = redis
        self.limit = limit
        self.window_s = window_s

    async def hit(self, email: str, client_ip: str) -> None:
        """Count one attempt; RESOURCE_EXHAUSTED (with retry_after_s) once either count is over the limit."""
        # Emails are hashed so the keys in Redis don't list who tried to log in.
        keys = [f"ratelimit:login:email:{hashlib.sha256(email.encode()).hexdigest()}"]
        if client_ip:
            keys.append(f"ratelimit:login:ip:{client_ip}")
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.incr(key)
                    pipe.expire(key, self.window_s, nx=True)
                    pipe.ttl(key)
                results = await pipe.execute()
        except RedisError as exc:
            raise Unavailable(f"redis unavailable: {type(exc).__name__}") from exc
        for i in range(len(keys)):
            count, ttl = results[3 * i], results[3 * i + 2]
            if count > self.limit:
                retry_after = max(int(ttl), 1)
                raise ResourceExhausted(
                    f"too many login attempts; try again in {retry_after} s", retry_after_s=retry_after
                )
