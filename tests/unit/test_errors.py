"""The gateway's one gRPC -> HTTP mapping and its one error body, as plain unit tests, plus a tiny
FastAPI app wired with the gateway's own handlers and middleware (no stack needed)."""

from __future__ import annotations

import asyncio
import json

import grpc
import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.middleware import Middleware

from services.common.context import request_id_var
from services.gateway.errors import (
    HTTP_STATUS_FOR_GRPC,
    ServiceCallError,
    http_status_for,
    install_error_handlers,
    service_error_response,
)
from services.gateway.middleware import (
    BodyLimitMiddleware,
    OverloadLimitMiddleware,
    RequestContextMiddleware,
)

EXPECTED_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
    grpc.StatusCode.CANCELLED: 503,  # a service resetting calls as it stops
}


def rpc_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)


def body_of(response) -> dict:
    return json.loads(response.body)


@pytest.fixture
def request_id():
    token = request_id_var.set("req-123")
    yield "req-123"
    request_id_var.reset(token)


@pytest.mark.parametrize("code", list(grpc.StatusCode), ids=lambda c: c.name)
def test_every_grpc_status_has_its_http_status_and_the_error_body(code, request_id):
    response = service_error_response(ServiceCallError.from_rpc_error("accounts", rpc_error(code, "why")))

    assert response.status_code == EXPECTED_STATUS.get(code, 500)
    assert http_status_for(code) == response.status_code
    problem = body_of(response)
    assert response.media_type == "application/problem+json"
    assert {"type", "title", "status", "detail", "code", "request_id"} <= set(problem)
    assert problem["status"] == response.status_code
    assert problem["request_id"] == request_id
    assert problem["code"] and problem["detail"] and problem["title"]


def test_the_mapping_is_exactly_the_designed_one():
    assert HTTP_STATUS_FOR_GRPC == EXPECTED_STATUS
    assert http_status_for(grpc.StatusCode.INTERNAL) == 500
    assert http_status_for(grpc.StatusCode.UNKNOWN) == 500
    assert http_status_for(grpc.StatusCode.UNIMPLEMENTED) == 500


def test_a_client_error_keeps_the_services_message(request_id):
    error = ServiceCallError.from_rpc_error(
        "accounts", rpc_error(grpc.StatusCode.NOT_FOUND, "brand not found")
    )

    body = body_of(service_error_response(error))

    assert body == {
        "type": "/problems/not_found",
        "title": "Not found",
        "status": 404,
        "detail": "brand not found",
        "code": "not_found",
        "request_id": request_id,
    }


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_an_unreachable_service_is_named(code, request_id):
    error = ServiceCallError.from_rpc_error("accounts", rpc_error(code, "failed to connect to 127.0.0.1:5"))

    response = service_error_response(error)

    assert response.status_code == 503
    body = body_of(response)
    assert body["service"] == "accounts"
    assert body["detail"].startswith("accounts service ")
    assert "127.0.0.1" not in body["detail"]


def test_an_internal_failure_does_not_leak_the_services_details(request_id):
    error = ServiceCallError.from_rpc_error(
        "media", rpc_error(grpc.StatusCode.INTERNAL, 'File "/srv/media/x.py", line 3, in put')
    )

    response = service_error_response(error)

    assert response.status_code == 500
    assert body_of(response)["code"] == "internal_error"
    assert "x.py" not in response.body.decode()


# --- a tiny app with the gateway's handlers and middleware --------------------------------------


class SignUp(BaseModel):
    email: str
    password: str


def tiny_app(middleware: list[Middleware] | None = None) -> FastAPI:
    app = FastAPI(middleware=middleware or [])
    install_error_handlers(app)

    @app.post("/signup")
    async def signup(body: SignUp):
        return {"ok": True}

    @app.get("/boom")
    async def boom():
        raise RuntimeError("secret internals: /srv/app.py line 42")

    @app.get("/upstream/{code}")
    async def upstream(code: str):
        raise rpc_error(grpc.StatusCode[code], "from the service")

    @app.get("/request-id")
    async def current_request_id():
        # What the gRPC client interceptor reads to put x-request-id into the call's metadata.
        return {"request_id": request_id_var.get()}

    @app.post("/body")
    async def read_body(payload: dict):
        return {"keys": len(payload)}

    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://tiny")


async def test_validation_error_lists_each_field_without_echoing_input():
    async with client_for(tiny_app([Middleware(RequestContextMiddleware)])) as client:
        response = await client.post("/signup", json={"password": "hunter2-secret"})

    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "validation_error"
    assert problem["type"] == "/problems/validation_error"
    assert problem["instance"] == "/signup"
    assert problem["request_id"] == response.headers["x-request-id"]
    assert problem["errors"] == [{"field": "body.email", "message": "Field required"}]
    assert "hunter2-secret" not in response.text


async def test_the_request_id_reaches_route_handlers_for_grpc_metadata():
    async with client_for(tiny_app([Middleware(RequestContextMiddleware)])) as client:
        given = await client.get("/request-id", headers={"X-Request-ID": "abc-123"})
        generated = await client.get("/request-id")

    assert given.json() == {"request_id": "abc-123"}
    assert generated.json() == {"request_id": generated.headers["x-request-id"]}


async def test_an_unexpected_exception_is_a_500_without_a_traceback():
    for middleware in ([], [Middleware(RequestContextMiddleware)]):
        async with client_for(tiny_app(middleware)) as client:
            response = await client.get("/boom")

        assert response.status_code == 500
        assert response.json()["code"] == "internal_error"
        assert response.json()["detail"] == "internal error"
        assert "Traceback" not in response.text
        assert "secret internals" not in response.text


async def test_a_raw_rpc_error_from_a_route_is_mapped():
    async with client_for(tiny_app()) as client:
        not_found = await client.get("/upstream/NOT_FOUND")
        unavailable = await client.get("/upstream/UNAVAILABLE")

    assert not_found.status_code == 404
    assert not_found.json()["detail"] == "from the service"
    assert unavailable.status_code == 503
    assert unavailable.json()["code"] == "unavailable"


async def test_a_chunked_body_growing_past_the_limit_is_413():
    app = tiny_app(
        [Middleware(RequestContextMiddleware), Middleware(BodyLimitMiddleware, max_body_bytes=100)]
    )

    async def chunks():
        yield b'{"a": "'
        for _ in range(10):
            yield b"x" * 50
        yield b'"}'

    async with client_for(app) as client:
        small = await client.post("/body", json={"a": 1})
        large = await client.post("/body", content=chunks(), headers={"content-type": "application/json"})

    assert small.status_code == 200
    assert "content-length" not in large.request.headers
    assert large.status_code == 413
    assert large.json()["code"] == "payload_too_large"


def test_a_path_can_have_its_own_body_limit():
    limiter = BodyLimitMiddleware(None, max_body_bytes=10, limits_by_path={r"/api/brands/[^/]+/files": 1000})

    assert limiter.limit_for("/api/brands/abc/files") == 1000
    assert limiter.limit_for("/api/brands/abc/files/x") == 10
    assert limiter.limit_for("/api/brands") == 10


async def test_requests_beyond_the_concurrency_limit_get_429_with_retry_after():
    entered, release = asyncio.Event(), asyncio.Event()
    app = FastAPI(middleware=[Middleware(OverloadLimitMiddleware, max_concurrent=1, retry_after_s=3)])
    install_error_handlers(app)

    @app.get("/slow")
    async def slow():
        entered.set()
        await release.wait()
        return {"ok": True}

    async with client_for(app) as client:
        first = asyncio.create_task(client.get("/slow"))
        await asyncio.wait_for(entered.wait(), 5)
        busy = await client.get("/slow")
        release.set()
        assert (await first).status_code == 200

    assert busy.status_code == 429
    assert busy.headers["retry-after"] == "3"
    assert busy.json()["code"] == "too_many_requests"
