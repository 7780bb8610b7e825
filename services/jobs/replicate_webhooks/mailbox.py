"""The Redis hand-over between a verified delivery (in the jobs service) and the step waiting for
that prediction or training (in a work horse).

The waiter marks the remote job as awaited (`replicate:awaited:{id}`, expiring after its longest
wait) and blocks on the list `replicate:delivered:{id}` between polls; the service pushes a
delivery onto that list only while the mark exists, in one Lua call, so a delivery for a job
nobody awaits leaves nothing behind. The waiter clears both when it stops waiting, however it ended,
so a late or repeated delivery finds no mark and changes nothing.

The same Redis keeps the `webhook-id`s of accepted deliveries (`replicate:webhook-id:{id}`) for
longer than a signed timestamp stays acceptable, so a replay inside that window is refused.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

AWAITED = "replicate:awaited:{}"
DELIVERED = "replicate:delivered:{}"
SEEN_ID = "replicate:webhook-id:{}"
# What a waiter leaves behind if its process dies mid-wait expires after its wait plus this.
AWAITED_MARGIN_S = 600
# Longest single block on the list: the waiter checks for cancellation between blocks.
BLOCK_S = 0.5

# KEYS: awaited mark, delivered list; ARGV: the delivery, the list's time to live.
_DELIVER = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""


class Mailbox:
    """A work horse's side: await a remote job, take its delivery, forget it."""

    def __init__(self, redis: Redis):
        self.redis = redis
        # A block must end well within the client's socket timeout (REDIS_SOCKET_TIMEOUT_S), or
        # every block would fail as a timeout.
        socket_timeout = redis.connection_pool.connection_kwargs.get("socket_timeout")
        self.block_s = min(BLOCK_S, socket_timeout / 2) if socket_timeout else BLOCK_S

    def expect(self, job_id: str, wait_s: float) -> bool:
        """Mark the job awaited; False when Redis failed (the waiter then relies on polling)."""
        try:
            self.redis.set(AWAITED.format(job_id), "1", ex=int(wait_s) + AWAITED_MARGIN_S)
            return True
        except RedisError as exc:
            log.warning("replicate %s: cannot await its webhook (%s); polling only", job_id, exc)
            return False

    def take(self, job_id: str, timeout_s: float) -> dict[str, Any] | None:
        """The delivered job, waiting at most timeout_s (capped at block_s); None when none came."""
        try:
            found = self.redis.blpop([DELIVERED.format(job_id)], timeout=min(timeout_s, self.block_s))
        except RedisError as exc:
            log.warning("replicate %s: reading its webhook failed (%s)", job_id, exc)
            time.sleep(min(timeout_s, self.block_s))  # as long as the block would have been
            return None
        if not found:
            return None
        return json.loads(found[1])

    def forget(self, job_id: str) -> None:
        try:
            self.redis.delete(AWAITED.format(job_id), DELIVERED.format(job_id))
        except RedisError:
            pass  # both expire on their own


def deliver(redis: Redis, job_id: str, body: bytes, wait_s: float) -> bool:
    """Hand a verified delivery to the step awaiting the job; False when none awaits it."""
    pushed = redis.eval(_DELIVER, 2, AWAITED.format(job_id), DELIVERED.format(job_id), body, int(wait_s))
    return bool(pushed)


def claim_webhook_id(redis: Redis, webhook_id: str, ttl_s: int) -> bool:
    """True the first time a webhook-id is seen within ttl_s; False for a replay."""
    return bool(redis.set(SEEN_ID.format(webhook_id), "1", nx=True, ex=ttl_s))


def release_webhook_id(redis: Redis, webhook_id: str) -> None:
    """Forget an id whose delivery could not be handed over, so Replicate's retry is accepted."""
    redis.delete(SEEN_ID.format(webhook_id))
