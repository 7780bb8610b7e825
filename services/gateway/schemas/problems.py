"""The error body of every operation: an RFC 9457 problem document (application/problem+json).

services/gateway/errors.py builds it; this is its schema in /openapi.json."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.gateway.schemas.common import examples


class FieldError(BaseModel):
    model_config = examples({"field": "body.title", "message": "String should have at least 1 character"})

    field: str = Field(description="Where: a dotted path such as `body.name` or `query.limit`.")
    message: str = Field(description="Why the value was refused (the value itself is never echoed).")


class Problem(BaseModel):
    # RFC 9457 lets a problem type add members; clients must ignore those they don't know.
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/not_found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "brand not found",
                    "instance": "/api/brands/0b6e4f2c-1c4e-4a7b-9f2e-3d1a5c7b9e01",
                    "code": "not_found",
                    "request_id": "1f0c9a7e5b2d4c3a8e6f0b1d2c3a4e5f",
                },
                {
                    "type": "/problems/validation_error",
                    "title": "Validation failed",
                    "status": 422,
                    "detail": "request validation failed",
                    "instance": "/api/brands",
                    "code": "validation_error",
                    "request_id": "7d2e4b6a8c0f1e3d5b7a9c1e3f5d7b9a",
                    "errors": [{"field": "body.title", "message": "String should have at least 1 character"}],
                },
            ]
        },
    )

    type: str = Field(
        description="A URI reference naming the kind of problem: `/problems/{code}`, relative to the API's "
        "address, where a page describes it; `about:blank` when the status says it all."
    )
    title: str = Field(description="A short summary of the kind of problem; the same for every occurrence.")
    status: int = Field(description="The HTTP status code of this response.")
    detail: str = Field(description="What happened this time, for a person to read.")
    instance: str = Field(description="The path of the request that failed.")
    code: str = Field(description="The kind of problem as a short stable name (the last part of `type`).")
    request_id: str = Field(
        description="The X-Request-ID of the request; every log line it caused carries it."
    )
    errors: list[FieldError] | None = Field(
        None,
        description="On every 422: each refused field with the reason (may be empty when `detail` says it).",
    )
    service: str | None = Field(None, description="On a 503 (and a 500): the internal service that failed.")
