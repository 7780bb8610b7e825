"""Webhook endpoints of a user and their deliveries (/api/webhooks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.gateway.schemas.common import RequestBody

WebhookEvent = Literal["generation.completed", "generation.failed", "generation.cancelled", "lora.completed"]
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 500

_URL_DESCRIPTION = (
    "Where events are POSTed: an https URL to a public address (no loopback, private, link-local "
    "or metadata addresses, also after DNS resolution; redirects are not followed)."
)
_ENDPOINT_EXAMPLE: dict[str, Any] = {
    "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "url": "https://hooks.example.com/zapcut",
    "events": ["generation.completed", "generation.failed"],
    "description": "Production notifier",
    "enabled": True,
    "created_at": "2026-12-02T10:00:00Z",
    "updated_at": "2026-12-02T10:00:00Z",
}
_SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw5XcsAB3bQEw="  # noqa: S105 - an example


class WebhookEndpointCreate(RequestBody):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "url": "https://hooks.example.com/zapcut",
                    "events": ["generation.completed", "generation.failed"],
                    "description": "Production notifier",
                }
            ]
        },
    }

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH, description=_URL_DESCRIPTION)
    events: list[WebhookEvent] = Field(min_length=1, max_length=4, description="The events to receive.")
    description: str = Field("", max_length=MAX_DESCRIPTION_LENGTH)


class WebhookEndpointUpdate(RequestBody):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"enabled": False}, {"events": ["generation.completed"]}]},
    }

    url: str | None = Field(None, min_length=1, max_length=MAX_URL_LENGTH, description=_URL_DESCRIPTION)
    events: list[WebhookEvent] | None = Field(None, min_length=1, max_length=4)
    description: str | None = Field(None, max_length=MAX_DESCRIPTION_LENGTH)
    enabled: bool | None = Field(None, description="A disabled endpoint is sent nothing.")


class WebhookEndpointOut(BaseModel):
    model_config = {"json_schema_extra": {"examples": [_ENDPOINT_EXAMPLE]}}

    id: str
    url: str
    events: list[WebhookEvent]
    description: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpointOut):
    model_config = {"json_schema_extra": {"examples": [_ENDPOINT_EXAMPLE | {"secret": _SECRET_EXAMPLE}]}}

    secret: str = Field(
        description="Verifies the `webhook-signature` of every delivery (Standard Webhooks). Shown only "
        "in this answer: keep it; POST .../rotate-secret makes a new one."
    )


class WebhookAttemptOut(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {"at": "2026-12-02T10:15:03Z", "status_code": 503, "error": "HTTP 503", "duration_ms": 212}
            ]
        }
    }

    at: datetime
    status_code: int | None = Field(description="The endpoint's HTTP status; null when it did not answer.")
    error: str | None
    duration_ms: int


class WebhookDeliveryOut(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "5b1c3f9e-8a4d-4c1e-9f0a-2d6b7e8c9a10",
                    "event_type": "generation.completed",
                    "payload": {
                        "type": "generation.completed",
                        "timestamp": "2026-12-02T10:04:00Z",
                        "data": {"generation_id": "…", "project_id": "…", "status": "completed"},
                    },
                    "status": "pending",
                    "attempts": 1,
                    "next_attempt_at": "2026-12-02T10:04:12Z",
                    "last_attempt_at": "2026-12-02T10:04:01Z",
                    "last_status_code": 500,
                    "last_error": "HTTP 500",
                    "recent_attempts": [
                        {
                            "at": "2026-12-02T10:04:01Z",
                            "status_code": 500,
                            "error": "HTTP 500",
                            "duration_ms": 48,
                        }
                    ],
                    "created_at": "2026-12-02T10:04:00Z",
                }
            ]
        }
    }

    id: str = Field(description="The `webhook-id` header: the same on every attempt of this delivery.")
    event_type: WebhookEvent
    payload: dict[str, Any] = Field(
        description="What is sent, except `data.final_video_url`, signed afresh at each attempt."
    )
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None = Field(description="When the next attempt is due (pending only).")
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    recent_attempts: list[WebhookAttemptOut] = Field(description="The last few attempts, newest first.")
    created_at: datetime
