"""Replicate's signed webhooks (the Standard Webhooks scheme): headers webhook-id, webhook-timestamp
(Unix seconds) and webhook-signature (space-separated "v1,<base64>" entries); the signature is
HMAC-SHA256 of f"{id}.{timestamp}.{body}" keyed with the base64-decoded part of the "whsec_..."
secret. A body is trusted only when one entry matches and the timestamp is within five minutes of
our clock (older ones may be replays)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping

TOLERANCE_S = 300


class WebhookVerificationError(ValueError):
    """The request is not a genuine, fresh webhook from Replicate."""


def _key(secret: str) -> bytes:
    encoded = secret.strip().removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("webhook secret is not a whsec_<base64> secret") from None
    if not key:
        raise WebhookVerificationError("webhook secret is empty")
    return key


def _signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def sign_webhook(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The webhook-signature value Replicate would send (for tests and local tools)."""
    raw = body.encode() if isinstance(body, str) else body
    return "v1," + _signature(_key(secret), msg_id, str(timestamp), raw)


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    now: float | None = None,
    tolerance_s: float = TOLERANCE_S,
) -> dict:
    """The webhook's JSON body (a prediction or training object) once verified; otherwise
    WebhookVerificationError saying why. `body` must be the raw bytes as received."""
    if not secret:
        raise WebhookVerificationError("no webhook secret configured (REPLICATE_WEBHOOK_SECRET)")
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a Unix time in seconds") from None
    now = time.time() if now is None else now
    if abs(now - sent_at) > tolerance_s:
        raise WebhookVerificationError(f"webhook timestamp is more than {tolerance_s:g}s from now")
    raw = body.encode() if isinstance(body, str) else body
    expected = _signature(_key(secret), msg_id, timestamp, raw)
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            break
    else:
        raise WebhookVerificationError("webhook signature does not match")
    try:
        return json.loads(raw)
    except ValueError:
        raise WebhookVerificationError("webhook body is not JSON") from None
