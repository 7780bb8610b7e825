"""One delivery attempt, run by a worker (an RQ job per attempt, `webhook-<delivery id>-<attempt>`,
enqueued by the jobs service's dispatcher, services.jobs.webhooks.dispatch).

The attempt claims its row first: only while the row is pending, due, and at the attempt number the
job was made for, and it leases the row (next_attempt_at pushed past the longest an attempt can
take), so a duplicate job, or a second worker, finds nothing to claim. If the worker dies while
sending, the lease runs out and the dispatcher enqueues the same attempt again: delivery is at
least once, and receivers tell repeats apart by the `webhook-id` header (the delivery's id, the
same on every attempt). The outcome is recorded on the row: delivered on a 2xx; otherwise pending
again at the next time the backoff gives, or failed once that would be past the retry window.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from cryptography.fernet import InvalidToken
from sqlalchemy import func, select, update

from services.common.db import table_of
from services.common.settings import secret_value
from services.jobs.clients import ServiceCallFailed
from services.jobs.models import WebhookDelivery, WebhookEndpoint
from services.jobs.runtime import Runtime
from services.jobs.webhooks import backoff
from services.jobs.webhooks.secrets_box import SecretBox
from services.jobs.webhooks.sending import Attempt, send

log = logging.getLogger(__name__)

deliveries = table_of(WebhookDelivery)
endpoints = table_of(WebhookEndpoint)

RECENT_ATTEMPTS = 5


def deliver(rt: Runtime, delivery_id: str, attempt_no: int) -> None:
    settings = rt.settings
    did = uuid.UUID(delivery_id)
    lease = timedelta(seconds=backoff.lease_s(settings.webhook_timeout_s))
    with rt.engine.begin() as conn:
        row = conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id == did,
                deliveries.c.status == "pending",
                deliveries.c.attempts == attempt_no,
                deliveries.c.next_attempt_at <= func.now(),
            )
            .values(next_attempt_at=func.now() + lease)
            .returning(deliveries)
        ).one_or_none()
        endpoint = (
            conn.execute(select(endpoints).where(endpoints.c.id == row.endpoint_id)).one_or_none()
            if row is not None
            else None
        )
    if row is None or endpoint is None:
        log.info("webhook delivery %s attempt %d: nothing to do", delivery_id, attempt_no + 1)
        return
    if not endpoint.enabled:
        outcome = Attempt(False, None, "the endpoint is disabled", 0)
        _record(rt, row, outcome, give_up=True)
        return
    try:
        secret = SecretBox(secret_value(settings.secret_key)).open(endpoint.secret_encrypted)
        payload = _with_video_url(rt, row)
    except InvalidToken:
        # SECRET_KEY changed since the secret was stored: no attempt can succeed until it is rotated.
        _record(
            rt, row, Attempt(False, None, "the endpoint's secret can't be read; rotate it", 0), give_up=True
        )
        return
    except ServiceCallFailed as exc:
        _record(rt, row, Attempt(False, None, f"not sent: {exc}", 0))
        return
    outcome = send(
        endpoint.url,
        secret,
        str(row.id),
        payload,
        timeout_s=settings.webhook_timeout_s,
        allow_loopback=settings.webhook_allow_loopback,
    )
    _record(rt, row, outcome)


def _with_video_url(rt: Runtime, row) -> dict:
    """The payload, with a freshly signed URL of the final video when there is one."""
    payload = dict(row.payload)
    if row.final_key:
        expiry_s = rt.settings.webhook_video_url_expiry_s
        (url,) = rt.calls.presign_downloads([row.final_key], expires_in_s=expiry_s)
        expires = datetime.now(UTC) + timedelta(seconds=expiry_s)
        payload["data"] = dict(payload["data"]) | {
            "final_video_url": url,
            "final_video_url_expires_at": expires.isoformat().replace("+00:00", "Z"),
        }
    return payload


def _record(rt: Runtime, row, outcome: Attempt, *, give_up: bool = False) -> None:
    settings = rt.settings
    now = datetime.now(UTC)
    attempts = row.attempts + 1
    if outcome.delivered:
        status, next_at = "delivered", None
    else:
        next_at = (
            None
            if give_up
            else backoff.next_attempt_at(
                now,
                row.created_at,
                attempts,
                base_s=settings.webhook_retry_base_s,
                max_s=settings.webhook_retry_max_s,
                window_s=settings.webhook_retry_window_s,
            )
        )
        status = "pending" if next_at is not None else "failed"
    entry = {
        "at": now.isoformat().replace("+00:00", "Z"),
        "status_code": outcome.status_code,
        "error": outcome.error,
        "duration_ms": outcome.duration_ms,
    }
    with rt.engine.begin() as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == row.id, deliveries.c.attempts == row.attempts)
            .values(
                status=status,
                attempts=attempts,
                next_attempt_at=next_at,
                last_attempt_at=now,
                last_status_code=outcome.status_code,
                last_error=outcome.error,
                recent_attempts=[entry, *row.recent_attempts][:RECENT_ATTEMPTS],
            )
        )
    log.info(
        "webhook delivery %s (%s) attempt %d: %s",
        row.id,
        row.event_type,
        attempts,
        status
        if outcome.delivered or status == "failed"
        else f"{outcome.error}; again at {next_at:%H:%M:%S}",
    )
