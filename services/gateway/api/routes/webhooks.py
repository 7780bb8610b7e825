"""/api/webhooks: the caller's webhook endpoints, which receive signed generation and LoRA events,
and what was delivered to each. (POST /api/webhooks/replicate, Replicate's deliveries to us, is
another router's; nothing here takes a POST on /api/webhooks/{id}.)"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable
from typing import Any, TypeVar

import grpc
from fastapi import APIRouter, Response
from fastapi.exceptions import RequestValidationError

from services.gateway.auth import CurrentCaller
from services.gateway.clients import Jobs
from services.gateway.errors import ServiceCallError
from services.gateway.schemas.common import Limit, Page, timestamp
from services.gateway.schemas.webhooks import (
    WebhookAttemptOut,
    WebhookDeliveryOut,
    WebhookEndpointCreate,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)
from zapcut.jobs.v1 import jobs_pb2

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

T = TypeVar("T")
# jobs starts an INVALID_ARGUMENT message with the field it is about ("url must be ...").
BODY_FIELDS = ("url", "events", "description")
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such endpoint of the caller's (another user's is unknown too)."}
}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "A URL that is not https to a public address, an unknown event, or too many endpoints."
    }
}


async def _body_field_errors(call: Awaitable[T]) -> T:
    """The call's answer; jobs' refusal of a body field becomes a 422 naming that field."""
    try:
        return await call
    except ServiceCallError as exc:
        field = exc.details.split(" ", 1)[0].rstrip(":")
        if exc.code == grpc.StatusCode.INVALID_ARGUMENT and field in BODY_FIELDS:
            raise RequestValidationError(
                [{"loc": ("body", field), "msg": exc.details, "type": "value_error"}]
            ) from None
        raise


def endpoint_out(m: jobs_pb2.WebhookEndpoint) -> WebhookEndpointOut:
    return WebhookEndpointOut(
        id=m.id,
        url=m.url,
        events=list(m.events),
        description=m.description,
        enabled=m.enabled,
        created_at=timestamp(m.created_at),
        updated_at=timestamp(m.updated_at),
    )


def with_secret(m: jobs_pb2.WebhookEndpoint) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret(**endpoint_out(m).model_dump(), secret=m.secret)


def delivery_out(d: jobs_pb2.WebhookDelivery) -> WebhookDeliveryOut:
    return WebhookDeliveryOut(
        id=d.id,
        event_type=d.event_type,
        payload=json.loads(d.payload_json or "{}"),
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=timestamp(d.next_attempt_at, d.HasField("next_attempt_at")),
        last_attempt_at=timestamp(d.last_attempt_at, d.HasField("last_attempt_at")),
        last_status_code=d.last_status_code or None,
        last_error=d.last_error or None,
        recent_attempts=[
            WebhookAttemptOut(
                at=timestamp(a.at),
                status_code=a.status_code or None,
                error=a.error or None,
                duration_ms=a.duration_ms,
            )
            for a in d.recent_attempts
        ],
        created_at=timestamp(d.created_at),
    )


@router.post(
    "",
    status_code=201,
    response_model=WebhookEndpointWithSecret,
    operation_id="createWebhookEndpoint",
    summary="Register a webhook endpoint",
    responses=INVALID,
)
async def create_endpoint(
    body: WebhookEndpointCreate, caller: CurrentCaller, jobs: Jobs
) -> WebhookEndpointWithSecret:
    """The answer carries the endpoint's signing secret, shown this once."""
    created = await _body_field_errors(
        jobs.CreateWebhookEndpoint(
            jobs_pb2.CreateWebhookEndpointRequest(
                url=body.url, events=body.events, description=body.description
            )
        )
    )
    return with_secret(created)


@router.get(
    "",
    response_model=Page[WebhookEndpointOut],
    operation_id="listWebhookEndpoints",
    summary="List the caller's webhook endpoints, newest first",
)
async def list_endpoints(
    caller: CurrentCaller, jobs: Jobs, limit: Limit = 20, cursor: str = ""
) -> Page[WebhookEndpointOut]:
    reply = await jobs.ListWebhookEndpoints(jobs_pb2.ListWebhookEndpointsRequest(limit=limit, cursor=cursor))
    return Page(items=[endpoint_out(e) for e in reply.endpoints], next_cursor=reply.next_cursor or None)


@router.get(
    "/{endpoint_id:uuid}",
    response_model=WebhookEndpointOut,
    operation_id="getWebhookEndpoint",
    summary="Read a webhook endpoint",
    responses=NOT_FOUND,
)
async def get_endpoint(endpoint_id: uuid.UUID, caller: CurrentCaller, jobs: Jobs) -> WebhookEndpointOut:
    return endpoint_out(await jobs.GetWebhookEndpoint(jobs_pb2.WebhookEndpointRequest(id=str(endpoint_id))))


@router.patch(
    "/{endpoint_id:uuid}",
    response_model=WebhookEndpointOut,
    operation_id="updateWebhookEndpoint",
    summary="Change a webhook endpoint's URL, events, description, or enable/disable it",
    responses=NOT_FOUND | INVALID,
)
async def update_endpoint(
    endpoint_id: uuid.UUID, body: WebhookEndpointUpdate, caller: CurrentCaller, jobs: Jobs
) -> WebhookEndpointOut:
    request = jobs_pb2.UpdateWebhookEndpointRequest(id=str(endpoint_id))
    if body.url is not None:
        request.url = body.url
    if body.events is not None:
        request.events.extend(body.events)
        request.set_events = True
    if body.description is not None:
        request.description = body.description
    if body.enabled is not None:
        request.enabled = body.enabled
    return endpoint_out(await _body_field_errors(jobs.UpdateWebhookEndpoint(request)))


@router.delete(
    "/{endpoint_id:uuid}",
    status_code=204,
    operation_id="deleteWebhookEndpoint",
    summary="Remove a webhook endpoint and its deliveries",
    responses=NOT_FOUND,
)
async def delete_endpoint(endpoint_id: uuid.UUID, caller: CurrentCaller, jobs: Jobs) -> Response:
    await jobs.DeleteWebhookEndpoint(jobs_pb2.WebhookEndpointRequest(id=str(endpoint_id)))
    return Response(status_code=204)


@router.post(
    "/{endpoint_id:uuid}/rotate-secret",
    response_model=WebhookEndpointWithSecret,
    operation_id="rotateWebhookSecret",
    summary="Replace a webhook endpoint's signing secret",
    responses=NOT_FOUND,
)
async def rotate_secret(
    endpoint_id: uuid.UUID, caller: CurrentCaller, jobs: Jobs
) -> WebhookEndpointWithSecret:
    """The new secret is in the answer, shown this once; every attempt from now on is signed with it."""
    return with_secret(await jobs.RotateWebhookSecret(jobs_pb2.WebhookEndpointRequest(id=str(endpoint_id))))


@router.get(
    "/{endpoint_id:uuid}/deliveries",
    response_model=Page[WebhookDeliveryOut],
    operation_id="listWebhookDeliveries",
    summary="What was sent to a webhook endpoint, newest first, with its last attempts",
    responses=NOT_FOUND,
)
async def list_deliveries(
    endpoint_id: uuid.UUID, caller: CurrentCaller, jobs: Jobs, limit: Limit = 20, cursor: str = ""
) -> Page[WebhookDeliveryOut]:
    reply = await jobs.ListWebhookDeliveries(
        jobs_pb2.ListWebhookDeliveriesRequest(endpoint_id=str(endpoint_id), limit=limit, cursor=cursor)
    )
    return Page(items=[delivery_out(d) for d in reply.deliveries], next_cursor=reply.next_cursor or None)
