"""Replicate's webhooks, end to end: the local server speaking Replicate's API (tests/support/
fake_replicate.py) POSTs each finished prediction or training, signed as Replicate signs it, to the
stack's gateway (POST /api/webhooks/replicate); the stack's jobs service verifies it and hands it to
the step waiting on it through the stack's Redis.

The steps run in this process on a scratch jobs database (as in test_generation_replicate.py: the
stack's workers use the local provider and ask for no webhooks), with the stack's media, S3, Redis,
gateway and jobs service. Where only a webhook may advance a step, polling is set to once an hour:
the step finishing at all, with no GET of its prediction at the fake, shows the webhook did it."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import imageio_ffmpeg
import psycopg
import pytest
from psycopg.types.json import Json

from services.jobs.config import Settings
from services.jobs.generation import outcome
from services.jobs.generation import steps as generation_steps
from services.jobs.generation.plan import make_plan, step_names
from services.jobs.media_types import Cancelled
from services.jobs.providers.replicate import ReplicateClient, ReplicateTrainings
from services.jobs.providers.replicate.client import ClientOptions
from services.jobs.queue.job_types import JobContext
from services.jobs.replicate_webhooks.mailbox import AWAITED, DELIVERED, Mailbox
from services.jobs.runtime import Runtime
from tests.support.fake_replicate import WEBHOOK_ATTEMPTS, WEBHOOK_SECRET
from tests.support.logs import log_size, wait_for_log_lines
from tests.support.replicate_steps import replicate_settings, scratch_jobs_db, user_with_brand_image

VIDEO = "wavespeedai/wan-2.1-i2v-480p"
VOICE = "minimax/speech-02-turbo"
MUSIC_VERSION = "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb"
MUSIC = f"meta/musicgen:{MUSIC_VERSION}"
TRAINER = "ostris/wan-lora-trainer"
WEIGHTS = "https://example.com/brand-lora.safetensors"
HOUR = 3600.0
WEBHOOK_PATH = "/api/webhooks/replicate"


@pytest.fixture(scope="module")
def jobs_db(stack):
    return scratch_jobs_db(stack, "replicate_hooks")


def ffmpeg(*args: str) -> None:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True
    )  # noqa: S603


@pytest.fixture(scope="module")
def outputs(stack_replicate) -> Path:
    """Small real files the fake serves as the models' outputs."""
    d = stack_replicate.files_dir
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=16:duration=2",
        "-pix_fmt",
        "yuv420p",
        str(d / "hook-clip.mp4"),
    )
    ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=660:duration=1", "-c:a", "libmp3lame", str(d / "hook-speech.mp3")
    )
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=2", "-ac", "2", str(d / "hook-music.wav"))
    return d


@pytest.fixture
def fake(stack_replicate, outputs):
    """The stack's fake Replicate, scripted for a generation; its webhook behaviour put back after."""
    stack_replicate.script(VIDEO, polls=1, output="hook-clip.mp4")
    stack_replicate.script(VOICE, polls=1, output="hook-speech.mp3")
    stack_replicate.script(MUSIC, polls=1, output=["hook-music.wav"])
    stack_replicate.deliveries.clear()
    yield stack_replicate
    # Other modules count the requests they caused on the same server (test_generation_replicate.py).
    stack_replicate.requests.clear()
    stack_replicate.webhook_mode = "deliver"
    stack_replicate.webhook_retry_s = 0.2
    stack_replicate.webhook_attempts = WEBHOOK_ATTEMPTS


def settings_for(stack, gateway_url, fake, jobs_db, *, poll_s: float) -> Settings:
    return replicate_settings(
        stack,
        fake,
        jobs_db,
        replicate_poll_initial_s=poll_s,
        replicate_poll_max_s=poll_s,
        replicate_lora_destination_owner="zapcut-test",
        replicate_webhook_url=gateway_url + WEBHOOK_PATH,
        replicate_webhook_secret=WEBHOOK_SECRET,
    )


async def pending_generation(http, jobs_db) -> tuple[str, dict[str, str], dict]:
    """A brand image in S3, and a pending generation of one spoken scene with all its steps, in the
    scratch database: (generation id, step ids by name, plan)."""
    user, image_key = await user_with_brand_image(http)
    project_id = str(uuid.uuid4())
    scene = {"order": 1, "description": "a can", "duration_s": 1, "voiceover_text": "Real fizz."}
    plan = make_plan([scene], [image_key], "16:9", 240, "replicate")
    with psycopg.connect(jobs_db, autocommit=True) as conn:
        generation_id = str(
            conn.execute(
                "INSERT INTO jobs.generations (ad_project_id, user_id, status, aspect, resolution, provider, plan) "
                "VALUES (%s, %s, 'pending', '16:9', 240, 'replicate', %s) RETURNING id",
                (project_id, user["id"], Json(plan)),
            ).fetchone()[0]
        )
        step_ids = {}
        for name, job_type, params in step_names(plan):
            step_ids[name] = str(
                conn.execute(
                    "INSERT INTO jobs.generation_jobs (ad_project_id, generation_id, name, job_type, status, input_params) "
                    "VALUES (%s, %s, %s, %s, 'pending', %s) RETURNING id",
                    (
                        project_id,
                        generation_id,
                        name,
                        job_type,
                        Json({"generation_id": generation_id, **params}),
                    ),
                ).fetchone()[0]
            )
    return generation_id, step_ids, plan


def run_generation(settings: Settings, generation_id: str, step_ids: dict[str, str], plan: dict) -> str:
    """Every step in order, as the workers would run them; the generation's final status."""
    runtime = Runtime.from_settings(settings)
    try:
        for name, job_type, params in step_names(plan):
            handler = getattr(generation_steps, job_type)
            handler(JobContext(step_ids[name], "", runtime), {"generation_id": generation_id, **params})
            with runtime.engine.begin() as conn:
                conn.exec_driver_sql(
                    "UPDATE jobs.generation_jobs SET status = 'completed' WHERE id = %(id)s",
                    {"id": step_ids[name]},
                )
        return outcome.settle(runtime.engine, runtime.redis, generation_id) or ""
    finally:
        runtime.close()


async def in_thread(fn, *args, stop, patience_s: float):
    """fn(*args) in a thread; past patience_s, stop() makes its wait end (Cancelled) and the test fail.
    A wait nothing advances would otherwise hold the thread for the hour-long poll."""
    task = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    done, _ = await asyncio.wait({task}, timeout=patience_s)
    if not done:
        stop()
        with_error = await asyncio.gather(task, return_exceptions=True)
        pytest.fail(f"not finished within {patience_s:.0f} s of patience ({with_error[0]!r})")
    return task.result()


def stop_flag() -> tuple[threading.Event, object]:
    """An event, and a checkpoint that raises Cancelled once it is set."""
    stopped = threading.Event()

    def checkpoint() -> None:
        if stopped.is_set():
            raise Cancelled("the test stopped waiting")

    return stopped, checkpoint


def cancel_generation(jobs_db: str, generation_id: str):
    """A stop() for a generation's steps: their checkpoints see it cancelled."""

    def stop() -> None:
        with psycopg.connect(jobs_db, autocommit=True) as conn:
            conn.execute("UPDATE jobs.generations SET status = 'cancelled' WHERE id = %s", (generation_id,))

    return stop


def client_for(settings: Settings, redis) -> ReplicateClient:
    return ReplicateClient(ClientOptions.from_settings(settings), mailbox=Mailbox(redis))


async def until(predicate, timeout_s: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def polled(fake, job_ids: list[str]) -> list[str]:
    return [c.path for c in fake.calls("GET") if c.path.rsplit("/", 1)[-1] in job_ids]


async def test_a_generation_completes_through_webhooks_with_polling_off(
    http, gateway_url, stack, fake, jobs_db
):
    generation_id, step_ids, plan = await pending_generation(http, jobs_db)
    settings = settings_for(stack, gateway_url, fake, jobs_db, poll_s=HOUR)

    status = await in_thread(
        run_generation,
        settings,
        generation_id,
        step_ids,
        plan,
        stop=cancel_generation(jobs_db, generation_id),
        patience_s=240,
    )

    assert status == "completed"
    with psycopg.connect(jobs_db) as conn:
        final_key, remote_ids = conn.execute(
            "SELECT g.final_key, array_agg(j.replicate_job_id) FILTER (WHERE j.replicate_job_id IS NOT NULL) "
            "FROM jobs.generations g JOIN jobs.generation_jobs j ON j.generation_id = g.id WHERE g.id = %s "
            "GROUP BY g.final_key",
            (generation_id,),
        ).fetchone()
    assert final_key.endswith(f"/{generation_id}/final_ad.mp4")
    assert len(remote_ids) == 3  # the scene, the voiceover and the music ran at Replicate
    creates = [c for c in fake.calls("POST") if c.path.endswith("/predictions") and c.json]
    assert all(c.json["webhook"] == gateway_url + WEBHOOK_PATH for c in creates[-3:])
    assert all(c.json["webhook_events_filter"] == ["completed"] for c in creates[-3:])
    # Each prediction was delivered once, answered 200 "delivered", and never polled.
    await until(lambda: len([d for d in fake.deliveries if d.job_id in remote_ids]) >= 3)
    delivered = [d for d in fake.deliveries if d.job_id in remote_ids]
    assert sorted(d.job_id for d in delivered) == sorted(remote_ids), fake.deliveries
    assert all(d.status == 200 and '"delivered"' in d.body for d in delivered)
    assert polled(fake, remote_ids) == []


async def test_a_missed_webhook_is_made_up_for_by_polling(
    http, gateway_url, stack, fake, jobs_db, redis_client
):
    fake.webhook_mode = "drop"  # every delivery lost on the way
    generation_id, step_ids, plan = await pending_generation(http, jobs_db)
    settings = settings_for(stack, gateway_url, fake, jobs_db, poll_s=0.2)

    status = await in_thread(
        run_generation,
        settings,
        generation_id,
        step_ids,
        plan,
        stop=cancel_generation(jobs_db, generation_id),
        patience_s=240,
    )

    assert status == "completed"
    with psycopg.connect(jobs_db) as conn:
        (remote_ids,) = conn.execute(
            "SELECT array_agg(replicate_job_id) FROM jobs.generation_jobs "
            "WHERE generation_id = %s AND replicate_job_id IS NOT NULL",
            (generation_id,),
        ).fetchone()
    assert len(remote_ids) == 3 and fake.deliveries == []
    assert {p.rsplit("/", 1)[-1] for p in polled(fake, remote_ids)} == set(remote_ids)
    # Nothing of the waits is left in Redis.
    assert not any(redis_client.exists(AWAITED.format(i), DELIVERED.format(i)) for i in remote_ids)


async def test_forged_stale_and_replayed_deliveries_are_refused_and_logged(
    http, gateway_url, stack, fake, jobs_db, redis_client
):
    fake.webhook_mode = "drop"  # this test sends the deliveries itself
    settings = settings_for(stack, gateway_url, fake, jobs_db, poll_s=HOUR)
    client = client_for(settings, redis_client)
    prediction = client.create_prediction(VIDEO, {"prompt": "a can"})
    stopped, checkpoint = stop_flag()
    waiting = asyncio.ensure_future(
        in_thread(partial(client.wait, prediction, checkpoint=checkpoint), stop=stopped.set, patience_s=60)
    )
    pid = prediction["id"]
    await until(lambda: redis_client.exists(AWAITED.format(pid)))
    final = fake.finish(pid)  # it succeeded at Replicate; only a delivery can tell the waiter
    jobs_log = stack.log_dir / "jobs.log"
    start = log_size(jobs_log)

    def post(body, headers):
        return http.post(WEBHOOK_PATH, content=body, headers=headers)

    body, headers = fake.signed(final)
    refusals = {
        "tampered body": (body.replace(b"succeeded", b"failed!!!"), headers),
        "wrong secret": fake.signed(final, secret="whsec_" + "b3RoZXItc2VjcmV0LW9mLTMyLWJ5dGVzLWxvbmctLS0="),
        "stale timestamp": fake.signed(final, timestamp=datetime.now(UTC) - timedelta(minutes=6)),
        "no signature": (body, {k: v for k, v in headers.items() if k != "webhook-signature"}),
    }
    for what, (forged_body, forged_headers) in refusals.items():
        reply = await post(forged_body, forged_headers)
        assert reply.status_code == 401, (what, reply.status_code, reply.text)
        assert "webhook refused" in reply.text, (what, reply.text)
    # None of them reached the waiter.
    assert not waiting.done() and redis_client.llen(DELIVERED.format(pid)) == 0
    reasons = Counter(
        [
            "no matching signature",
            "no matching signature",
            "message timestamp too old",
            "missing webhook-signature",
        ]
    )
    for reason, count in reasons.items():
        await wait_for_log_lines(jobs_log, f"refused: {reason}", after=start, count=count)

    reply = await post(body, headers)
    assert reply.status_code == 200 and reply.json() == {"outcome": "delivered"}, reply.text
    done = await waiting
    assert done["status"] == "succeeded" and done["output"] == final["output"]
    assert polled(fake, [pid]) == []

    # The same delivery again (same webhook-id, still within 5 minutes): a replay.
    replay = await post(body, headers)
    assert replay.status_code == 401 and "replayed webhook-id" in replay.text
    await wait_for_log_lines(jobs_log, "refused: replayed webhook-id", after=start)
    # A late duplicate under a new id (Replicate resending): accepted, and nothing awaits it any more.
    late = await post(*fake.signed(final))
    assert late.status_code == 200 and late.json() == {"outcome": "ignored"}
    assert not redis_client.exists(AWAITED.format(pid), DELIVERED.format(pid))
    # A prediction that is not ours to follow.
    unknown = await post(*fake.signed(final | {"id": "notawaitedbyanystep00000000"}))
    assert unknown.status_code == 200 and unknown.json() == {"outcome": "ignored"}
    await wait_for_log_lines(jobs_log, "notawaitedbyanystep00000000 succeeded is awaited by no step; ignored")
    assert WEBHOOK_SECRET not in jobs_log.read_text() and WEBHOOK_SECRET[6:] not in jobs_log.read_text()
    client.close()


async def test_a_delivery_that_finds_jobs_down_is_retried_until_it_lands(
    gateway_url, stack, fake, jobs_db, redis_client
):
    fake.webhook_retry_s, fake.webhook_attempts = 1.0, 8  # Replicate's backoff, over a minute
    settings = settings_for(stack, gateway_url, fake, jobs_db, poll_s=HOUR)
    client = client_for(settings, redis_client)
    stack.stop_app("jobs")
    try:
        prediction = client.create_prediction(VIDEO, {"prompt": "a can"})
        stopped, checkpoint = stop_flag()
        waiting = asyncio.ensure_future(
            in_thread(
                partial(client.wait, prediction, checkpoint=checkpoint), stop=stopped.set, patience_s=120
            )
        )
        await until(lambda: any(d.job_id == prediction["id"] for d in fake.deliveries))
    finally:
        await asyncio.to_thread(stack.start_app, "jobs")
    done = await waiting
    client.close()

    assert done["status"] == "succeeded" and polled(fake, [prediction["id"]]) == []
    # The fake records an attempt once it has the answer, which may be after the step woke.
    await until(lambda: any(d.job_id == prediction["id"] and d.status == 200 for d in fake.deliveries))
    attempts = [d for d in fake.deliveries if d.job_id == prediction["id"]]
    assert attempts[0].status == 503 and "jobs" in attempts[0].body  # the gateway names what is down
    assert attempts[-1].status == 200 and '"delivered"' in attempts[-1].body
    assert len({d.webhook_id for d in attempts}) == 1  # a retry keeps its id, and it was not burnt


async def test_a_delivery_larger_than_the_limit_is_refused_before_jobs(http):
    reply = await http.post(WEBHOOK_PATH, content=b" " * (7 * 1024 * 1024), headers={"webhook-id": "x"})
    assert reply.status_code == 413


async def test_a_lora_training_completes_through_its_webhook(gateway_url, stack, fake, jobs_db, redis_client):
    fake.add_model(TRAINER, latest_version="a" * 64)
    fake.script(TRAINER, polls=1, output={"version": "zapcut-test/x:" + "b" * 64, "weights": WEIGHTS})
    settings = settings_for(stack, gateway_url, fake, jobs_db, poll_s=HOUR)
    trainings = ReplicateTrainings(settings, mailbox=Mailbox(redis_client))
    try:
        training = await asyncio.to_thread(
            trainings.create, f"hooks-{uuid.uuid4().hex[:8]}", {"input_images": "https://example.com/i.zip"}
        )
        stopped, checkpoint = stop_flag()
        done = await in_thread(
            partial(trainings.wait, training, checkpoint=checkpoint), stop=stopped.set, patience_s=60
        )
    finally:
        trainings.close()
    assert trainings.weights_url(done) == WEIGHTS
    assert polled(fake, [training["id"]]) == []
    await until(lambda: any(d.job_id == training["id"] for d in fake.deliveries))
    [delivery] = [d for d in fake.deliveries if d.job_id == training["id"]]
    assert delivery.status == 200 and '"delivered"' in delivery.body
