"""Verification of Replicate's webhook deliveries (Standard Webhooks), on deliveries signed as
Replicate signs them: the signature list, the timestamp tolerance, and what is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from services.common.errors import NotFound
from services.jobs.config import Settings
from services.jobs.replicate_webhooks.receive import receive
from services.jobs.replicate_webhooks.verify import Refused, verify

SECRET = "whsec_" + base64.b64encode(b"a-test-signing-key-for-replicate").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody-elses-signing-key-here!").decode()
PREDICTION = {"id": "ufawqhfynnddngldkgtslldrkq", "status": "succeeded", "output": "https://x/y.mp4"}


def signed(
    body: bytes | None = None,
    *,
    secret: str = SECRET,
    age_s: float = 0,
    webhook_id: str = "msg_1",
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(PREDICTION).encode() if body is None else body
    at = datetime.now(UTC) - timedelta(seconds=age_s)
    signature = Webhook(secret).sign(webhook_id, at, body.decode())
    return body, {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def test_a_delivery_signed_with_the_secret_is_its_json():
    body, headers = signed()
    assert verify(SECRET, body, headers) == PREDICTION


def test_any_one_valid_signature_in_the_list_is_enough():
    body, headers = signed()
    _, foreign = signed(secret=OTHER_SECRET)
    # As during a key rotation: several space-separated signatures, one of them ours; an unknown
    # version is skipped.
    headers["webhook-signature"] = f"v2,abc {foreign['webhook-signature']} {headers['webhook-signature']}"
    assert verify(SECRET, body, headers)["id"] == PREDICTION["id"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda body, headers: (body.replace(b"succeeded", b"failed!!!"), headers), "no matching signature"),
        (lambda body, headers: (body, headers | {"webhook-id": "msg_2"}), "no matching signature"),
        (lambda body, headers: (body, headers | {"webhook-signature": "v1,AAAA"}), "no matching signature"),
        (lambda body, headers: (body, headers | {"webhook-signature": "garbage"}), "malformed"),
        (lambda body, headers: (body, headers | {"webhook-timestamp": "soon"}), "invalid signature headers"),
        (lambda body, headers: (body, {k: v for k, v in headers.items() if k != "webhook-id"}), "missing"),
        (lambda body, headers: (body, headers | {"webhook-signature": ""}), "missing webhook-signature"),
    ],
    ids=["tampered body", "other id", "wrong signature", "malformed", "bad timestamp", "no id", "empty"],
)
def test_a_tampered_or_incomplete_delivery_is_refused(change, reason):
    body, headers = change(*signed())
    with pytest.raises(Refused, match=reason):
        verify(SECRET, body, headers)


def test_a_delivery_signed_with_another_secret_is_refused():
    body, headers = signed(secret=OTHER_SECRET)
    with pytest.raises(Refused, match="no matching signature"):
        verify(SECRET, body, headers)


def test_the_timestamp_must_be_within_five_minutes_either_way():
    body, headers = signed(age_s=240)
    assert verify(SECRET, body, headers)
    with pytest.raises(Refused, match="too old"):
        verify(SECRET, *signed(age_s=360))
    with pytest.raises(Refused, match="too new"):
        verify(SECRET, *signed(age_s=-360))


def test_a_signed_body_that_is_no_prediction_is_refused():
    with pytest.raises(Refused, match="not JSON"):
        verify(SECRET, *signed(b"hello"))
    with pytest.raises(Refused, match="not a prediction"):
        verify(SECRET, *signed(b'["a list"]'))


def test_the_refusal_never_carries_the_secret():
    body, headers = signed(secret=OTHER_SECRET)
    with pytest.raises(Refused) as refused:
        verify(SECRET, body, headers)
    assert SECRET not in str(refused.value) and SECRET[6:] not in str(refused.value)


def test_without_a_secret_the_endpoint_is_not_found():
    settings = Settings(_env_file=None, debug=True, database_url="postgresql://u@h/db", redis_url="redis://h")
    with pytest.raises(NotFound, match="REPLICATE_WEBHOOK_SECRET"):
        receive(None, settings, *signed())  # type: ignore[arg-type] - refused before Redis is used


def test_a_webhook_url_needs_the_secret():
    with pytest.raises(ValueError, match="REPLICATE_WEBHOOK_URL needs REPLICATE_WEBHOOK_SECRET"):
        Settings(
            _env_file=None,
            debug=True,
            database_url="postgresql://u@h/db",
            redis_url="redis://h",
            replicate_webhook_url="https://api.example.com/api/webhooks/replicate",
        )
