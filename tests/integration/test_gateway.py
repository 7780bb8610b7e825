"""The gateway as a real process in front of real services: health, request ids, CORS, error bodies,
body limit, OpenAPI, and health while a service is stopped or hung."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
import uuid
from datetime import datetime

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.api import assert_error_body, client_ip_headers, new_user, wait_until_healthy
from tests.support.brands import file_bytes, multipart_upload

HEALTH_KEYS = {"status", "timestamp", "db_connected", "redis_connected", "s3_connected", "services"}
SERVICES = ("accounts", "media", "jobs")
HEX_ID = re.compile(r"[0-9a-f]{32}")


def needs(*apps: str):
    """Skip when ZAPCUT_TEST_APPS leaves out an app the test relies on (the full suite runs them all)."""
    only = os.environ.get("ZAPCUT_TEST_APPS")
    missing = [a for a in apps if only and a not in only.split(",")]
    return pytest.mark.skipif(bool(missing), reason=f"ZAPCUT_TEST_APPS leaves out {', '.join(missing)}")


# --- health ------------------------------------------------------------------------------------


@needs(*SERVICES)
async def test_health_reports_every_service_and_server(http):
    response = await http.get("/api/health")

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == HEALTH_KEYS
    assert body["status"] == "healthy"
    assert body["timestamp"].endswith("Z")
    stamp = datetime.fromisoformat(body["timestamp"])
    assert stamp.utcoffset().total_seconds() == 0
    assert body["db_connected"] is True
    assert body["redis_connected"] is True
    assert body["s3_connected"] is True
    assert body["services"] == {"accounts": "SERVING", "media": "SERVING", "jobs": "SERVING"}


async def test_health_of_accounts_goes_through_to_postgres(http):
    response = await http.get("/api/health/accounts")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["service"] == "accounts"
    assert body["status"] == "SERVING"
    postgres, redis = body["dependencies"]
    assert (postgres["name"], redis["name"]) == ("postgres", "redis")
    assert postgres["ok"] is True and redis["ok"] is True
    assert postgres["latency_ms"] >= 0
    assert postgres["detail"] == ""


@pytest.mark.parametrize(
    "service, servers",
    [
        pytest.param("media", {"postgres", "s3"}, marks=needs("media")),
        pytest.param("jobs", {"postgres", "redis"}, marks=needs("jobs")),
    ],
)
async def test_health_of_each_service_lists_what_it_owns(http, service, servers):
    response = await http.get(f"/api/health/{service}")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "SERVING"
    assert {d["name"] for d in body["dependencies"]} == servers
    assert all(d["ok"] for d in body["dependencies"])


async def test_health_of_an_unknown_service_is_404(http):
    assert_error_body(await http.get("/api/health/billing"), 404, "not_found")


# The promise is "never slow": a health check that hangs fails here instead of waiting for ever.
HEALTH_ANSWER_BOUND_S = 10


async def test_health_with_accounts_stopped_names_only_accounts(stack, http):
    stack.stop_app("accounts")
    try:
        response = await http.get("/api/health", timeout=HEALTH_ANSWER_BOUND_S)
        single = await http.get("/api/health/accounts", timeout=HEALTH_ANSWER_BOUND_S)
    finally:
        stack.start_app("accounts")
    await wait_until_healthy(http, "/api/health/accounts")

    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["services"]["accounts"] != "SERVING"
    assert body["services"]["media"] == body["services"]["jobs"] == "SERVING"
    # Postgres and Redis are up, and media and jobs (which use them too) say so: accounts being down
    # says nothing about them.
    assert body["db_connected"] is True
    assert body["redis_connected"] is True
    assert body["s3_connected"] is True
    assert body["errors"] == [f"accounts: {body['services']['accounts']}"]
    assert single.status_code == 503
    one = single.json()
    assert one["status"] != "SERVING"
    assert one["dependencies"] == []
    assert "error" in one


@needs("accounts", "media")
async def test_a_route_names_the_service_that_is_down(stack, http):
    """A 503 from any route names the service whose call failed, also for the streamed upload
    (a client-streaming call) and when the services called before it answered."""
    user = await new_user(http)
    brand = (await http.post("/api/brands", json={"title": "Named"}, headers=user["headers"])).json()
    stack.stop_app("media")
    try:
        streamed = await multipart_upload(http, user, brand["id"], file_bytes("image/png"))
        unary = await http.post(
            f"/api/brands/{brand['id']}/uploads",
            json={"kind": "product_image", "filename": "a.png", "content_type": "image/png", "size": 100},
            headers=user["headers"],
        )
    finally:
        stack.start_app("media")
    stack.stop_app("accounts")
    try:
        first_call = await http.get("/api/brands", headers=user["headers"])
    finally:
        stack.start_app("accounts")
    await wait_until_healthy(http)

    for response, service in ((streamed, "media"), (unary, "media"), (first_call, "accounts")):
        error = assert_error_body(response, 503, "unavailable")
        assert error["service"] == service, response.text
        assert error["detail"] == f"{service} service unavailable"
        assert response.headers["retry-after"] == "1"


@needs("media")
async def test_health_with_media_hung_still_answers_and_names_only_media(stack, http):
    pid = stack.apps["media"].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        response = await http.get("/api/health", timeout=HEALTH_ANSWER_BOUND_S)
    finally:
        os.kill(pid, signal.SIGCONT)
    await wait_until_healthy(http, "/api/health/media")

    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["services"]["media"] != "SERVING"
    # Only media uses S3: with media silent, S3's state is unknown, not false.
    assert "s3_connected" not in body
    assert body["db_connected"] is True
    assert [e.split(":")[0] for e in body["errors"]] == ["media"]


# --- request ids -------------------------------------------------------------------------------


async def test_a_sane_request_id_is_echoed(http):
    given = f"client-{uuid.uuid4()}.retry_1"

    response = await http.get("/api/health/accounts", headers={"X-Request-ID": given})

    assert response.headers["x-request-id"] == given


async def test_a_request_id_is_generated_when_missing(http):
    first = await http.get("/api/health/accounts")
    second = await http.get("/api/health/accounts")

    assert HEX_ID.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize("bad", ["has spaces in it", "x" * 129, "semi;colon", "new\tline"])
async def test_an_unsafe_request_id_is_replaced(http, bad):
    response = await http.get("/no/such/route", headers={"X-Request-ID": bad})

    replaced = response.headers["x-request-id"]
    assert replaced != bad
    assert HEX_ID.fullmatch(replaced)
    assert response.json()["request_id"] == replaced


async def test_each_request_is_logged_once_without_secrets(stack, http):
    request_id = f"log-{uuid.uuid4().hex}"
    await http.get(
        "/api/health/accounts?token=query-secret-value",
        headers={"X-Request-ID": request_id, "Authorization": "Bearer header-secret-value"},
    )

    log_file = stack.log_dir / "gateway.log"
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in log_file.read_text().splitlines() if request_id in line]
        if lines or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    request_lines = [line for line in lines if "GET /api/health/accounts 200" in line]
    assert len(request_lines) == 1, lines
    assert " ms" in request_lines[0]
    text = log_file.read_text()
    assert "query-secret-value" not in text
    assert "header-secret-value" not in text


# --- CORS --------------------------------------------------------------------------------------


async def test_cors_preflight_from_the_frontend_is_allowed(http):
    response = await http.options(
        "/api/health",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]


async def test_cors_preflight_from_another_origin_is_refused(http):
    response = await http.options(
        "/api/health",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )

    assert response.status_code >= 400
    assert "access-control-allow-origin" not in response.headers


async def test_the_frontend_can_read_the_request_id(http):
    response = await http.get("/api/health/accounts", headers={"Origin": "http://localhost:3000"})

    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


# --- error bodies ------------------------------------------------------------------------------


async def test_an_unknown_route_is_a_json_404(http):
    error = assert_error_body(await http.get("/api/nothing-here"), 404, "not_found")
    assert error["detail"]


async def test_a_wrong_method_is_a_json_405(http):
    response = await http.delete("/api/health")

    assert_error_body(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


MIB = 1024 * 1024
JSON = {"content-type": "application/json"}


def signup_body_of(size: int) -> bytes:
    """A sign-up body of exactly `size` bytes: well-formed JSON whose password is far too long."""
    head, tail = b'{"email": "limit@example.com", "name": "Limit", "password": "', b'"}'
    return head + b"p" * (size - len(head) - len(tail)) + tail


async def in_chunks(body: bytes, size: int = 64 * 1024):
    """The body without a Content-Length (chunked): the gateway counts it as it arrives."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_body_over_one_mib_is_a_json_413(http):
    body = signup_body_of(MIB + 1)

    declared = await http.post("/api/auth/signup", content=body, headers=JSON | client_ip_headers())
    chunked = await http.post("/api/auth/signup", content=in_chunks(body), headers=JSON | client_ip_headers())

    assert "content-length" not in chunked.request.headers
    for response in (declared, chunked):
        error = assert_error_body(response, 413, "payload_too_large")
        assert error["detail"] == f"request body is larger than {MIB} bytes"


async def test_a_body_at_the_limit_is_not_refused_for_its_size(http):
    body = signup_body_of(MIB)

    declared = await http.post("/api/auth/signup", content=body, headers=JSON | client_ip_headers())
    chunked = await http.post("/api/auth/signup", content=in_chunks(body), headers=JSON | client_ip_headers())

    # Read and parsed whole, then refused for what it says (a password over 128 characters).
    for response in (declared, chunked):
        error = assert_error_body(response, 422, "validation_error")
        assert [d["field"] for d in error["errors"]] == ["body.password"], error


def _nested(levels: int) -> dict:
    """A JSON object `levels` deep: {"a": {"a": ... {} }}."""
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


async def test_deeply_nested_json_is_422_not_a_server_error(http):
    user = await new_user(http)

    # 400 levels of brand guidelines used to be a 500 with a traceback in the log.
    deep = await http.post(
        "/api/brands", json={"title": "Deep", "brand_guidelines": _nested(400)}, headers=user["headers"]
    )
    at_limit = await http.post(
        "/api/brands", json={"title": "Deep", "brand_guidelines": _nested(31)}, headers=user["headers"]
    )
    over = await http.post(
        "/api/brands", json={"title": "Deep", "brand_guidelines": _nested(32)}, headers=user["headers"]
    )

    error = assert_error_body(deep, 422, "validation_error")
    assert error["errors"] == [{"field": "body", "message": "JSON nested deeper than 32 levels"}]
    assert at_limit.status_code == 201, at_limit.text  # the body is 32 levels deep: allowed
    assert_error_body(over, 422, "validation_error")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/auth/signup"),
        ("POST", "/api/auth/login"),
        ("PATCH", "/api/auth/me"),
        ("POST", "/api/brands/{id}/uploads"),
        ("POST", "/api/projects"),
        ("PATCH", "/api/projects/{id}"),
        ("PUT", "/api/projects/{id}/script"),
        ("POST", "/api/projects/{id}/generate"),
        ("POST", "/api/no-such-route"),
    ],
)
async def test_deeply_nested_json_is_422_whatever_the_route(http, method, path):
    body = json.dumps({"x": _nested(100)})

    response = await http.request(
        method,
        path.replace("{id}", str(uuid.uuid4())),
        content=body,
        headers={"content-type": "application/json", "Authorization": "Bearer whatever"},
    )

    error = assert_error_body(response, 422, "validation_error")
    assert error["errors"][0]["field"] == "body"


# --- OpenAPI -----------------------------------------------------------------------------------


async def test_docs_and_openapi_describe_the_api(http):
    docs = await http.get("/docs")
    spec = await http.get("/openapi.json")

    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert spec.status_code == 200
    body = spec.json()
    assert body["info"]["title"]
    assert body["info"]["version"]
    assert {"auth", "brands", "projects"} <= {tag["name"] for tag in body["tags"]}
    assert "/api/health" in body["paths"]


# --- a stopping service ------------------------------------------------------------------------


@needs("media")
async def test_a_stopping_service_tells_its_watchers_first_and_serves_while_they_move_away(
    stack, grpc_channel, http
):
    """Clients watch each replica's health (client-side health checking in the service config):
    a stopping service says NOT_SERVING on every Watch, ends the watches, and goes on answering
    for SHUTDOWN_DRAIN_S before it stops taking calls, so nothing is sent to it as it stops."""
    channel = grpc_channel("media")
    health = health_pb2_grpc.HealthStub(channel)
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
    assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING

    os.kill(stack.apps["media"].pid, signal.SIGTERM)
    try:
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
        assert await watch.read() is grpc.aio.EOF  # the watch ends rather than hold the grace period
        assert await watch.code() == grpc.StatusCode.OK
        # Our channels send it nothing more (with one replica, that is UNAVAILABLE at once) as soon
        # as the channel's own watch has heard it too: a stream of its own, which under load may
        # hear it a moment after ours. Well inside the drain period (SHUTDOWN_DRAIN_S, 1 s), while
        # the server still answers, as the plain channel below shows.
        refused = await _refused_within(health, seconds=0.3)
        assert refused.code() == grpc.StatusCode.UNAVAILABLE
        assert "backend unhealthy" in (refused.details() or "")
        # ... while it still answers a channel that does not watch its health.
        async with grpc.aio.insecure_channel(stack.grpc_address("media")) as plain:
            reply = await health_pb2_grpc.HealthStub(plain).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=5
            )
        assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        stack.stop_app("media")
        stack.start_app("media")
    await wait_until_healthy(http)  # the gateway's channels back, for the next tests


async def _refused_within(health, seconds: float) -> grpc.aio.AioRpcError:
    """The first failed Check on `health`'s channel, calling every 10 ms for at most `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        except grpc.aio.AioRpcError as exc:
            return exc
        assert asyncio.get_running_loop().time() < deadline, "the channel still sends to a stopping server"
        await asyncio.sleep(0.01)
