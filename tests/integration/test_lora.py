"""A brand's LoRA through the gateway: trained by the stack's worker through Replicate's trainings
API (a local server speaking it), followed to completion, approved or rejected."""

from __future__ import annotations

import asyncio
import io
import time
import uuid

from PIL import Image

from tests.support.api import new_brand, new_user

TRAINER = "ostris/wan-lora-trainer"
WEIGHTS = "https://example.com/brand-lora.safetensors"


def png(i: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (i * 40 % 255, 100, 150)).save(buffer, "PNG")
    return buffer.getvalue()


async def brand_with_images(http, user, count: int) -> dict:
    brand = await new_brand(http, user["headers"])
    for i in range(count):
        reply = await http.post(
            f"/api/brands/{brand['id']}/files?kind=product_image",
            files={"file": (f"p{i}.png", png(i), "image/png")},
            headers=user["headers"],
        )
        assert reply.status_code == 201, reply.text
    return brand


async def wait_lora(http, user, brand_id, statuses, timeout_s=60) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = (await http.get(f"/api/brands/{brand_id}/lora", headers=user["headers"])).json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.3)


async def test_lora_training_status_flow_and_approval(http, stack_replicate):
    stack_replicate.add_model(TRAINER, latest_version="a" * 64)
    stack_replicate.script(
        TRAINER, polls=2, output={"version": "zapcut-test/x:" + "b" * 64, "weights": WEIGHTS}
    )
    user = await new_user(http)

    few = await brand_with_images(http, user, 4)
    reply = await http.post(f"/api/brands/{few['id']}/lora", headers=user["headers"])
    assert reply.status_code == 409 and "at least 5" in reply.json()["detail"]
    assert (await http.get(f"/api/brands/{few['id']}/lora", headers=user["headers"])).status_code == 404

    brand = await brand_with_images(http, user, 5)
    reply = await http.post(f"/api/brands/{brand['id']}/lora", headers=user["headers"])
    assert reply.status_code == 202, reply.text
    assert reply.json()["status"] in ("pending", "training")
    # Not approvable until it has finished.
    early = await http.post(f"/api/brands/{brand['id']}/lora/approve", headers=user["headers"])
    assert early.status_code == 409 or early.json()["status"] == "completed"

    done = await wait_lora(http, user, brand["id"], {"completed", "failed"})
    assert done["status"] == "completed", done
    assert done["model_url"] == WEIGHTS and done["training_job_id"] and not done["user_approved"]
    [create] = [
        c for c in stack_replicate.calls("POST", f"/v1/models/{TRAINER}/versions/") if c.json["input"]
    ][-1:]
    assert create.json["destination"].startswith("zapcut-test/")
    assert create.json["input"]["input_images"].startswith("http")

    approved = await http.post(f"/api/brands/{brand['id']}/lora/approve", headers=user["headers"])
    assert approved.status_code == 200 and approved.json()["user_approved"] is True
    rejected = await http.post(f"/api/brands/{brand['id']}/lora/reject", headers=user["headers"])
    assert rejected.status_code == 200 and rejected.json()["user_approved"] is False

    other = await new_user(http)
    for method, path in [
        ("POST", f"/api/brands/{brand['id']}/lora"),
        ("GET", f"/api/brands/{brand['id']}/lora"),
        ("POST", f"/api/brands/{brand['id']}/lora/approve"),
    ]:
        reply = await http.request(method, path, headers=other["headers"])
        assert reply.status_code == 404, (method, path, reply.text)


async def test_a_failed_training_says_why(http, stack_replicate):
    stack_replicate.add_model(TRAINER, latest_version="a" * 64)
    stack_replicate.script(TRAINER, polls=1, outcome="failed", error="CUDA out of memory")
    user = await new_user(http)
    brand = await brand_with_images(http, user, 5)
    reply = await http.post(f"/api/brands/{brand['id']}/lora", headers=user["headers"])
    assert reply.status_code == 202, reply.text
    done = await wait_lora(http, user, brand["id"], {"completed", "failed"})
    assert done["status"] == "failed" and "CUDA out of memory" in done["error_message"]
    # A new training may start after a failed one.
    stack_replicate.script(TRAINER, polls=1, output={"weights": WEIGHTS})
    again = await http.post(f"/api/brands/{brand['id']}/lora", headers=user["headers"])
    assert again.status_code == 202, again.text
    assert (await wait_lora(http, user, brand["id"], {"completed", "failed"}))["status"] == "completed"


def test_a_trainings_rq_job_has_the_timeout_from_settings(stack, redis_client):
    from rq.job import Job

    from services.jobs.config import Settings
    from services.jobs.lora.api import enqueue
    from services.jobs.queue import rq_jobs

    settings = Settings(
        _env_file=None,
        debug=True,
        database_url="postgresql://u@h/db",
        redis_url=stack.env["REDIS_URL"],
        rq_queue=f"lora-timeout-{uuid.uuid4().hex}",  # no worker listens: the job stays queued
        lora_training_timeout_s=1234,
    )
    queue = rq_jobs.queue(redis_client, settings)
    lora_id = uuid.uuid4()
    enqueue(queue, settings, lora_id)
    try:
        job = Job.fetch(f"lora-{lora_id}", connection=redis_client)
        assert (job.timeout, job.func_name) == (1234, "services.jobs.worker.tasks.run_lora_training")
    finally:
        queue.delete(delete_jobs=True)
