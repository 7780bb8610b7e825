"""POST /api/webhooks/replicate: Replicate's deliveries of finished predictions and trainings.

No bearer token: Replicate signs each delivery instead (Standard Webhooks). The gateway passes the
raw body and the three signature headers to jobs, which verifies them and wakes the step waiting
for that prediction; the answer tells Replicate to stop retrying (200) or not (anything else).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel

from services.gateway.clients import Jobs
from zapcut.jobs.v1 import jobs_pb2

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

# What Replicate sends: the prediction itself, as GET /v1/predictions/{id} answers it (shortened).
_PREDICTION_EXAMPLE = {
    "id": "ufawqhfynnddngldkgtslldrkq",
    "status": "succeeded",
    "output": "https://replicate.delivery/pbxt/scene.mp4",
    "error": None,
    "created_at": "2026-12-02T10:00:00.000000Z",
    "completed_at": "2026-12-02T10:00:41.000000Z",
}


class ReplicateWebhookReceipt(BaseModel):
    """What became of a verified delivery."""

    outcome: Literal["delivered", "ignored"]

    model_config = {"json_schema_extra": {"examples": [{"outcome": "delivered"}, {"outcome": "ignored"}]}}


@router.post(
    "/replicate",
    operation_id="receiveReplicateWebhook",
    summary="Receive a Replicate webhook delivery",
    response_model=ReplicateWebhookReceipt,
    responses={
        401: {
            "description": "Bad or missing signature, timestamp over 5 minutes off, or replayed webhook-id"
        },
        404: {"description": "Replicate webhooks are not configured (REPLICATE_WEBHOOK_SECRET)"},
        413: {"description": "Larger than REPLICATE_WEBHOOK_MAX_BYTES: polling finishes the step instead"},
        503: {"description": "The jobs service or its Redis is down; Replicate retries"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The prediction or training as Replicate sends it (verified byte for byte).",
            "content": {
                "application/json": {
                    "schema": {"type": "object", "additionalProperties": True},
                    "example": _PREDICTION_EXAMPLE,
                }
            },
        }
    },
)
async def receive_replicate_webhook(
    request: Request,
    jobs: Jobs,
    webhook_id: Annotated[str, Header(description="Unique per message; the same on retries")] = "",
    webhook_timestamp: Annotated[str, Header(description="Seconds since the epoch")] = "",
    webhook_signature: Annotated[str, Header(description="Space-separated `v1,<base64>` signatures")] = "",
) -> ReplicateWebhookReceipt:
    """Verifies the delivery (in jobs) and hands the prediction to the step awaiting it, which
    advances at once; a delivery for a prediction no step awaits is 200 and ignored."""
    # The raw bytes are what is signed: the body is passed on as it came, never parsed here.
    receipt = await jobs.ReceiveReplicateWebhook(
        jobs_pb2.ReplicateWebhook(
            body=await request.body(),
            webhook_id=webhook_id,
            webhook_timestamp=webhook_timestamp,
            webhook_signature=webhook_signature,
        )
    )
    return ReplicateWebhookReceipt(outcome=receipt.outcome)
