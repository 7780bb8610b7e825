"""A Replicate webhook delivery checked as Replicate signs it (Standard Webhooks): `webhook-id`,
`webhook-timestamp` (seconds since the epoch) and `webhook-signature`, a space-separated list of
`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` under the base64 key after `whsec_`; any one
signature that matches is enough (several appear while a secret is being rotated).

The standardwebhooks package does the HMAC and the timestamp check (within 5 minutes either way,
fixed by the package); this module turns whatever it raises into Refused with a reason safe to log.
"""

from __future__ import annotations

import json
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

# standardwebhooks accepts timestamps this far from now either way; a delivery is valid for twice it.
TOLERANCE_S = 5 * 60
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class Refused(Exception):
    """A delivery that must not be trusted; the message says why and never holds the secret."""


def verify(secret: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """The delivery's JSON object when one of its signatures is valid and its timestamp recent."""
    missing = [name for name in HEADERS if not headers.get(name)]
    if missing:
        raise Refused(f"missing {', '.join(missing)}")
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except WebhookVerificationError as exc:
        raise Refused(str(exc).lower()) from None
    except ValueError:
        # A signature list the package cannot split or decode, or a body that is not UTF-8.
        raise Refused("malformed webhook-signature or body") from None
    try:
        payload = json.loads(body)
    except ValueError:
        raise Refused("signed body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
        raise Refused("signed body is not a prediction or training")
    return payload
