"""ReceiveReplicateWebhook: verify a delivery, refuse a replay, and hand it to the step awaiting its
prediction or training. Synchronous (Redis); the servicer runs it in a thread.

Refusals (no secret configured, a bad or missing signature, a stale timestamp, a replayed
webhook-id) are logged with their reason and raised as service errors: 404 when webhooks are not
configured here (the endpoint does not exist for Replicate), 401 otherwise. A verified delivery for
a job nobody awaits is accepted and ignored: the step already advanced by polling, or the job is
not ours to follow.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Literal

from redis import Redis
from redis.exceptions import RedisError

from services.common.errors import NotFound, Unauthenticated
from services.jobs.config import Settings
from services.jobs.replicate_webhooks import mailbox
from services.jobs.replicate_webhooks.verify import TOLERANCE_S, Refused, verify

log = logging.getLogger(__name__)

# Longer than a signed timestamp stays acceptable (TOLERANCE_S either side of now), so an id is
# still remembered when its replay would stop being refused for its age.
SEEN_ID_TTL_S = 3 * TOLERANCE_S
# Logged webhook-ids are the sender's text: cut, in case it is not Replicate.
_LOGGED_ID_CHARS = 64

Outcome = Literal["delivered", "ignored"]


def receive(redis: Redis, settings: Settings, body: bytes, headers: dict[str, str]) -> Outcome:
    webhook_id = headers.get("webhook-id", "")[:_LOGGED_ID_CHARS]
    if settings.replicate_webhook_secret is None:
        log.warning("replicate webhook %r refused: REPLICATE_WEBHOOK_SECRET is not set", webhook_id)
        raise NotFound("replicate webhooks are not configured here (REPLICATE_WEBHOOK_SECRET)")
    try:
        payload = verify(settings.replicate_webhook_secret.get_secret_value(), body, headers)
    except Refused as exc:
        log.warning("replicate webhook %r refused: %s", webhook_id, exc)
        raise Unauthenticated(f"webhook refused: {exc}") from None
    if not mailbox.claim_webhook_id(redis, headers["webhook-id"], SEEN_ID_TTL_S):
        log.warning("replicate webhook %r refused: replayed webhook-id", webhook_id)
        raise Unauthenticated("webhook refused: replayed webhook-id")
    job_id, status = payload["id"], payload.get("status")
    try:
        delivered = mailbox.deliver(redis, job_id, body, settings.replicate_max_wait_s)
    except BaseException:
        with contextlib.suppress(RedisError):
            mailbox.release_webhook_id(redis, headers["webhook-id"])
        raise
    if not delivered:
        log.info("replicate webhook %r: %s %s is awaited by no step; ignored", webhook_id, job_id, status)
        return "ignored"
    log.info("replicate webhook %r: %s %s handed to its step", webhook_id, job_id, status)
    return "delivered"
