"""The replicate provider's pure parts: product images shrunk into data URIs, and webhook signatures
signed and verified. Against a server speaking Replicate's API: tests/integration/test_replicate.py."""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import pytest
from PIL import Image

from services.jobs.providers.replicate import (
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
)
from services.jobs.providers.replicate.media import DATA_URI_MAX_BYTES, image_data_uri
from tests.support.fake_replicate import TOKEN, fake_replicate, fake_replicate_server  # noqa: F401


def test_large_product_image_is_shrunk_into_a_data_uri(tmp_path):
    path = tmp_path / "huge.png"
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 255, (1600, 1600, 3), dtype=np.uint8)).save(path)
    assert path.stat().st_size > DATA_URI_MAX_BYTES
    uri = image_data_uri(path)
    assert uri.startswith("data:image/jpeg;base64,") and len(uri) * 3 / 4 < DATA_URI_MAX_BYTES * 1.01


SECRET = "whsec_" + base64.b64encode(b"a webhook signing key, 32 bytes!").decode()


BODY = json.dumps({"id": "p1", "status": "succeeded", "output": "https://x/y.mp4"}).encode()


def signed_headers(body: bytes = BODY, *, timestamp: int | None = None, secret: str = SECRET) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Webhook-Id": "msg_1",
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": sign_webhook(secret, "msg_1", timestamp, body),
    }


def test_webhook_with_a_valid_signature_is_accepted():
    assert verify_webhook(SECRET, signed_headers(), BODY)["status"] == "succeeded"
    # Several signatures (a secret being rotated): one match is enough.
    headers = signed_headers()
    headers["Webhook-Signature"] = "v1,bm90IGl0 " + headers["Webhook-Signature"]
    assert verify_webhook(SECRET, headers, BODY)["id"] == "p1"


def test_webhook_signature_vectors_match_the_standard():
    # Computed independently: HMAC-SHA256(base64decode(secret), "id.timestamp.body").
    import hashlib
    import hmac

    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, b"msg_1.1700000000." + BODY, hashlib.sha256).digest()).decode()
    assert sign_webhook(SECRET, "msg_1", 1700000000, BODY) == "v1," + expected


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        (
            lambda: signed_headers(secret="whsec_" + base64.b64encode(b"another key").decode()),
            BODY,
            "does not match",
        ),
        (lambda: signed_headers(timestamp=int(time.time()) - 301), BODY, "more than 300s"),
        (lambda: signed_headers(timestamp=int(time.time()) + 400), BODY, "more than 300s"),
        (lambda: signed_headers(), BODY.replace(b"succeeded", b"failed"), "does not match"),
        (lambda: {k: v for k, v in signed_headers().items() if k != "Webhook-Id"}, BODY, "missing"),
    ],
    ids=["wrong-secret", "stale", "future", "tampered-body", "missing-header"],
)
def test_webhook_that_is_not_genuine_is_rejected(headers, body, reason):
    with pytest.raises(WebhookVerificationError, match=reason):
        verify_webhook(SECRET, headers(), body)
