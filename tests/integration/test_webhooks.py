"""Webhooks to users' endpoints against the real stack: /api/webhooks, signed deliveries of
generation and LoRA events to a receiver the test starts, retries recorded and visible, nothing lost
when the worker is killed mid-backoff, redirects not followed, and what a deletion removes.

The stack runs with DEBUG off, where an endpoint on loopback is refused (the first test). For the
rest, this module restarts jobs and the worker with DEBUG and WEBHOOK_ALLOW_LOOPBACK on (and short
retries), so they can deliver to the receiver on 127.0.0.1, and puts them back afterwards.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from standardwebhooks import Webhook

from tests.support.api import new_brand, new_user
from tests.support.generation import TERMINAL, png, ready_project, start, wait_for
from tests.support.webhook_receiver import running_receiver

ALL_EVENTS = ["generation.completed", "generation.failed", "generation.cancelled", "lora.completed"]
LOOPBACK_SETTINGS = {
    "DEBUG": "true",
    "WEBHOOK_ALLOW_LOOPBACK": "true",
    "WEBHOOK_RETRY_BASE_S": "1",
    "WEBHOOK_RETRY_MAX_S": "2",
}


def field_errors(body: dict) -> dict[str, str]:
    """{field: message} of a 422, whichever error body the gateway uses."""
    entries = body.get("errors") or body.get("error", {}).get("details") or []
    return {e["field"].removeprefix("body.").split(".")[0]: e["message"] for e in entries}


def _restart_jobs_and_worker(stack) -> None:
    for app in ("worker", "jobs"):
        stack.stop_app(app)
    for app in ("jobs", "worker"):
        stack.start_app(app)
    # Until the gateway's channel to jobs is connected again (a create is not retried meanwhile).
    deadline = time.monotonic() + 60
    url = f"http://127.0.0.1:{stack.ports.gateway}/api/health/jobs"
    while httpx.get(url, timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the gateway does not reach the restarted jobs service"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def loopback_webhooks(stack):
    before = dict(stack.env)
    stack.env.update(LOOPBACK_SETTINGS)
    _restart_jobs_and_worker(stack)
    yield stack
    stack.env.clear()
    stack.env.update(before)
    _restart_jobs_and_worker(stack)


@pytest.fixture
def receiver():
    with running_receiver() as r:
        yield r


async def register(http, user, url: str, events=None, **body) -> httpx.Response:
    return await http.post(
        "/api/webhooks", json={"url": url, "events": events or ALL_EVENTS, **body}, headers=user["headers"]
    )


async def deliveries(http, user, endpoint_id: str) -> list[dict]:
    reply = await http.get(f"/api/webhooks/{endpoint_id}/deliveries", headers=user["headers"])
    assert reply.status_code == 200, reply.text
    return reply.json()["items"]


async def delivery_becomes(
    http, user, endpoint_id: str, status: str, attempts: int | None = None, timeout_s: float = 60
) -> dict:
    """The endpoint's newest delivery once it has `status` (and, if given, that many attempts)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = await deliveries(http, user, endpoint_id)
        if found and found[0]["status"] == status and attempts in (None, found[0]["attempts"]):
            return found[0]
        assert time.monotonic() < deadline, f"delivery not {status} with {attempts} attempts: {found}"
        await asyncio.sleep(0.3)


async def cancelled_generation(http, user) -> dict:
    """A generation started and cancelled at once: the quickest event there is."""
    project = await ready_project(http, user, images=1)
    reply = await start(http, user, project["id"])
    assert reply.status_code == 202, reply.text
    reply = await http.post(f"/api/projects/{project['id']}/generation/cancel", headers=user["headers"])
    assert reply.status_code == 200, reply.text
    return reply.json() | {"project_id": project["id"]}


def verified(secret: str, request) -> dict:
    """The body of a received webhook, after checking its Standard Webhooks signature."""
    return Webhook(secret).verify(request.body, request.headers)


# --- with DEBUG off, as the stack runs --------------------------------------------------------


async def test_with_debug_off_a_loopback_endpoint_is_refused(http, owner):
    for url in (
        "http://127.0.0.1:9/hooks",
        "https://10.0.0.1/hooks",
        "https://169.254.169.254/",
        "https://[::1]/",
    ):
        reply = await register(http, owner, url)
        assert reply.status_code == 422, (url, reply.text)
        assert "url" in field_errors(reply.json()), reply.text


# --- with loopback allowed ------------------------------------------------------------------


async def test_endpoints_crud_validation_and_other_users(http, owner, other, loopback_webhooks, receiver):
    reply = await register(http, owner, receiver.url, ["generation.completed"], description="my laptop")
    assert reply.status_code == 201, reply.text
    created = reply.json()
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["generation.completed"] and created["enabled"] is True
    eid = created["id"]

    listed = (await http.get("/api/webhooks", headers=owner["headers"])).json()
    assert [e["id"] for e in listed["items"]] == [eid] and listed["next_cursor"] is None
    assert "secret" not in listed["items"][0]
    got = (await http.get(f"/api/webhooks/{eid}", headers=owner["headers"])).json()
    assert got["description"] == "my laptop" and "secret" not in got

    reply = await http.patch(
        f"/api/webhooks/{eid}", json={"enabled": False, "events": ALL_EVENTS}, headers=owner["headers"]
    )
    assert (
        reply.status_code == 200 and reply.json()["enabled"] is False and reply.json()["events"] == ALL_EVENTS
    )

    rotated = (await http.post(f"/api/webhooks/{eid}/rotate-secret", headers=owner["headers"])).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]

    # Another user's endpoint is as unknown as one that does not exist.
    for method, path in [
        ("GET", f"/api/webhooks/{eid}"),
        ("PATCH", f"/api/webhooks/{eid}"),
        ("DELETE", f"/api/webhooks/{eid}"),
        ("GET", f"/api/webhooks/{eid}/deliveries"),
        ("POST", f"/api/webhooks/{eid}/rotate-secret"),
    ]:
        reply = await http.request(
            method, path, json={} if method == "PATCH" else None, headers=other["headers"]
        )
        assert reply.status_code == 404, (method, path, reply.text)
    assert (await http.get("/api/webhooks", headers=other["headers"])).json()["items"] == []

    # Validation, each naming its field.
    for body, field in [
        ({"url": receiver.url, "events": ["generation.exploded"]}, "events"),
        ({"url": receiver.url, "events": []}, "events"),
        ({"url": "https://10.0.0.1/hooks", "events": ALL_EVENTS}, "url"),
        ({"url": "http://127.0.0.2:8080/hooks", "events": ALL_EVENTS}, "url"),
        ({"url": "not a url", "events": ALL_EVENTS}, "url"),
        ({"url": receiver.url, "events": ALL_EVENTS, "description": "nul \x00 inside"}, "description"),
    ]:
        reply = await http.post("/api/webhooks", json=body, headers=owner["headers"])
        assert reply.status_code == 422, (body, reply.text)
        assert field in field_errors(reply.json()), (body, reply.text)
    reply = await http.patch(
        f"/api/webhooks/{eid}", json={"url": "https://192.168.0.1/"}, headers=owner["headers"]
    )
    assert reply.status_code == 422 and "url" in field_errors(reply.json()), reply.text

    assert (await http.delete(f"/api/webhooks/{eid}", headers=owner["headers"])).status_code == 204
    assert (await http.get(f"/api/webhooks/{eid}", headers=owner["headers"])).status_code == 404
    assert (await http.delete(f"/api/webhooks/{eid}", headers=owner["headers"])).status_code == 404


async def test_too_many_endpoints_is_a_422_and_lists_are_paginated(http, loopback_webhooks, receiver):
    user = await new_user(http)
    for _ in range(10):  # WEBHOOK_MAX_ENDPOINTS_PER_USER's default
        assert (await register(http, user, receiver.url)).status_code == 201
    reply = await register(http, user, receiver.url)
    assert reply.status_code == 422 and "url" in field_errors(reply.json()), reply.text

    first = (await http.get("/api/webhooks?limit=6", headers=user["headers"])).json()
    second = (
        await http.get(f"/api/webhooks?limit=6&cursor={first['next_cursor']}", headers=user["headers"])
    ).json()
    assert len(first["items"]) == 6 and len(second["items"]) == 4 and second["next_cursor"] is None
    assert not {e["id"] for e in first["items"]} & {e["id"] for e in second["items"]}


async def test_a_completed_generation_is_delivered_signed_with_its_video(http, loopback_webhooks, receiver):
    user = await new_user(http)
    endpoint = (await register(http, user, receiver.url)).json()
    project = await ready_project(http, user)
    assert (await start(http, user, project["id"])).status_code == 202
    done = await wait_for(http, user, project["id"], TERMINAL)
    assert done["status"] == "completed", done

    (request,) = receiver.wait_for(1)
    assert request.path == "/hooks"
    body = verified(endpoint["secret"], request)
    assert body["type"] == "generation.completed"
    data = body["data"]
    assert data["generation_id"] == done["id"] and data["project_id"] == project["id"]
    assert data["status"] == "completed" and data["error_message"] is None
    async with httpx.AsyncClient(timeout=30) as client:
        video = await client.get(data["final_video_url"])
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"

    delivery = await delivery_becomes(http, user, endpoint["id"], "delivered")
    assert delivery["id"] == request.headers["webhook-id"]
    assert delivery["attempts"] == 1 and delivery["last_status_code"] == 200
    assert "final_video_url" not in delivery["payload"]["data"]  # signed at each attempt, not stored


async def test_failed_and_cancelled_generations_are_delivered(http, loopback_webhooks, receiver):
    user = await new_user(http)
    endpoint = (
        await register(http, user, receiver.url, ["generation.failed", "generation.cancelled"])
    ).json()

    cancelled = await cancelled_generation(http, user)
    corrupt = b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096  # a PNG signature over garbage: the step fails
    failing = await ready_project(http, user, images=1, image_bytes=corrupt)
    assert (await start(http, user, failing["id"])).status_code == 202
    assert (await wait_for(http, user, failing["id"], TERMINAL))["status"] == "failed"

    receiver.wait_for(2)
    (cancel_request,) = receiver.of_type("generation.cancelled")
    assert verified(endpoint["secret"], cancel_request)["data"]["generation_id"] == cancelled["id"]
    (fail_request,) = receiver.of_type("generation.failed")
    data = verified(endpoint["secret"], fail_request)["data"]
    assert data["project_id"] == failing["id"] and data["status"] == "failed" and data["error_message"]
    assert "final_video_url" not in data


async def test_a_trained_lora_is_delivered(http, db, loopback_webhooks, receiver, stack_replicate):
    trainer = "ostris/wan-lora-trainer"
    stack_replicate.add_model(trainer, latest_version="a" * 64)
    stack_replicate.script(trainer, polls=1, output={"weights": "https://example.com/lora.safetensors"})
    user = await new_user(http)
    endpoint = (await register(http, user, receiver.url, ["lora.completed"])).json()
    brand = await new_brand(http, user["headers"])
    for i in range(5):
        reply = await http.post(
            f"/api/brands/{brand['id']}/files?kind=product_image",
            files={"file": (f"p{i}.png", png((i * 40, 100, 150), (64, 64)), "image/png")},
            headers=user["headers"],
        )
        assert reply.status_code == 201, reply.text
    reply = await http.post(f"/api/brands/{brand['id']}/lora", headers=user["headers"])
    assert reply.status_code == 202, reply.text

    (request,) = receiver.wait_for(1)
    body = verified(endpoint["secret"], request)
    assert body["type"] == "lora.completed"
    assert body["data"]["brand_id"] == brand["id"] and body["data"]["lora_id"] == reply.json()["id"]
    assert body["data"]["status"] == "completed"

    # The brand's deletion takes the deliveries about its LoRA with it.
    await delivery_becomes(http, user, endpoint["id"], "delivered")
    assert (await http.delete(f"/api/brands/{brand['id']}", headers=user["headers"])).status_code == 204
    await _until_no_rows(db, "SELECT count(*) FROM jobs.webhook_deliveries WHERE brand_id = %s", brand["id"])


async def test_an_endpoint_not_subscribed_or_disabled_gets_nothing(http, loopback_webhooks, receiver):
    user = await new_user(http)
    await register(http, user, receiver.url, ["generation.completed"])
    disabled = (await register(http, user, receiver.url, ["generation.cancelled"])).json()
    await http.patch(f"/api/webhooks/{disabled['id']}", json={"enabled": False}, headers=user["headers"])
    with running_receiver() as listening:
        await register(http, user, listening.url, ["generation.cancelled"])
        await cancelled_generation(http, user)
        listening.wait_for(1)  # the event was fanned out by now
    assert receiver.requests == []
    assert await deliveries(http, user, disabled["id"]) == []


async def test_a_failing_endpoint_is_retried_and_its_attempts_are_visible(http, loopback_webhooks, receiver):
    user = await new_user(http)
    endpoint = (await register(http, user, receiver.url)).json()
    receiver.statuses = [500, 503]
    await cancelled_generation(http, user)

    first, second, third = receiver.wait_for(3)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == third.headers["webhook-id"]
    for request in (first, second, third):
        verified(endpoint["secret"], request)
    delivery = await delivery_becomes(http, user, endpoint["id"], "delivered")
    assert (
        delivery["attempts"] == 3 and delivery["last_status_code"] == 200 and delivery["last_error"] is None
    )
    assert [a["status_code"] for a in delivery["recent_attempts"]] == [200, 503, 500]
    assert delivery["recent_attempts"][2]["error"] == "HTTP 500"
    assert delivery["next_attempt_at"] is None


async def test_a_delivery_waiting_to_retry_survives_a_killed_worker(http, loopback_webhooks, receiver):
    user = await new_user(http)
    endpoint = (await register(http, user, receiver.url)).json()
    receiver.statuses = [500]
    await cancelled_generation(http, user)
    receiver.wait_for(1)
    waiting = await delivery_becomes(http, user, endpoint["id"], "pending", attempts=1)
    assert waiting["last_status_code"] == 500 and waiting["next_attempt_at"]

    loopback_webhooks.kill_app("worker")
    try:
        await asyncio.sleep(3)  # past the retry's due time, with no worker to run it
        assert len(receiver.requests) == 1
    finally:
        loopback_webhooks.start_app("worker")

    (_, retried) = receiver.wait_for(2)
    assert retried.headers["webhook-id"] == waiting["id"]
    await delivery_becomes(http, user, endpoint["id"], "delivered", attempts=2)


async def test_a_redirect_is_not_followed(http, loopback_webhooks, receiver):
    user = await new_user(http)
    with running_receiver() as elsewhere:
        endpoint = (await register(http, user, receiver.url)).json()
        receiver.statuses = [302, 302, 302]
        receiver.location = elsewhere.url
        await cancelled_generation(http, user)
        receiver.wait_for(1)
        deadline = time.monotonic() + 30
        while not (found := await deliveries(http, user, endpoint["id"])) or not found[0]["attempts"]:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.3)
        assert found[0]["last_status_code"] == 302
        assert "redirects are not followed" in found[0]["last_error"]
        assert elsewhere.requests == []


async def test_deleting_the_project_and_the_user_removes_their_webhook_rows(
    http, db, loopback_webhooks, receiver
):
    user = await new_user(http)
    endpoint = (await register(http, user, receiver.url)).json()
    cancelled = await cancelled_generation(http, user)
    await delivery_becomes(http, user, endpoint["id"], "delivered")

    reply = await http.delete(f"/api/projects/{cancelled['project_id']}", headers=user["headers"])
    assert reply.status_code == 204
    await _until_no_rows(
        db, "SELECT count(*) FROM jobs.webhook_deliveries WHERE project_id = %s", cancelled["project_id"]
    )
    assert await deliveries(http, user, endpoint["id"]) == []

    assert (await http.delete("/api/auth/me", headers=user["headers"])).status_code == 204
    await _until_no_rows(db, "SELECT count(*) FROM jobs.webhook_endpoints WHERE user_id = %s", user["id"])


async def _until_no_rows(db, query: str, value: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while db.execute(query, (value,)).fetchone()[0]:
        assert time.monotonic() < deadline, query
        await asyncio.sleep(0.3)
