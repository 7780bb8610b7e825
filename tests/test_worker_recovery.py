"""A generation survives the failures of the machinery under it, with real processes: a worker
SIGKILLed mid-step (the step runs again and the ad is made, not failed and refunded), a work horse
killed more often than JOB_MAX_WORKER_LOSSES allows (the generation fails with one readable sentence
and is refunded), and media not listening when a step starts (retried, the ad is made).

Tests that stop or kill a process start it again in `finally`. Waits are bounded polls; nothing
asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import psutil
from psycopg.rows import dict_row

from services.jobs.config import Settings
from tests.api_helpers import new_user
from tests.test_generation import SCENES, me, ready_project, start, wait_for
from tests.test_jobs import row

MAX_WORKER_LOSSES = Settings.model_fields["job_max_worker_losses"].default  # the test stack's
DEBUG_STRINGS = ("_InactiveRpcError", "debug_error_string", "StatusCode.", "Traceback")
# Scenes long enough (at 720p) that a step is still rendering when a test kills its worker.
LONG_SCENES = [{"order": i, "description": f"scene {i}", "duration_s": 10} for i in (1, 2)]


def assert_readable(generation: dict) -> None:
    """Every message a user sees through the API: one line, no gRPC debug string, no traceback."""
    texts = [generation["error_message"]] + [
        t for j in generation["jobs"] for t in (j["error_message"], j["stage"])
    ]
    for text in filter(None, texts):
        assert "\n" not in text and not any(s in text for s in DEBUG_STRINGS), text


async def poll(check, what: str, timeout_s: float = 180, every_s: float = 0.3):
    deadline = time.monotonic() + timeout_s
    while not (value := await check()):
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f} s waiting for {what}"
        await asyncio.sleep(every_s)
    return value


def step_rows(db, generation_id: str) -> dict[str, dict]:
    with db.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT * FROM jobs.generation_jobs WHERE generation_id = %s", (generation_id,)
        ).fetchall()
    return {r["name"]: r for r in rows}


def running_step(db, generation_id: str) -> dict | None:
    return next((r for r in step_rows(db, generation_id).values() if r["status"] == "processing"), None)


def horses(worker_pid: int) -> list[psutil.Process]:
    """The worker's work horses: RQ forks each into a process group of its own (the scheduler,
    the worker's other child, stays in the worker's group)."""
    found = []
    for child in psutil.Process(worker_pid).children():
        try:
            if os.getpgid(child.pid) == child.pid:
                found.append(child)
        except ProcessLookupError:
            pass
    return found


def ensure_running(stack, app: str) -> None:
    if not stack.apps[app].running:
        stack.start_app(app)


async def test_a_worker_killed_mid_step_runs_the_step_again_and_the_ad_is_made(http, stack, db):
    user = await new_user_with_project(http)
    reply = await start(http, user, user["project"]["id"], resolution=720)
    assert reply.status_code == 202, reply.text
    generation_id = reply.json()["id"]

    step = await poll(lambda: asyncio.to_thread(running_step, db, generation_id), "a step to be running")
    try:
        stack.kill_app("worker")  # SIGKILL to the worker's process group; its horse dies with it
        lost = await poll(
            lambda: asyncio.to_thread(
                lambda: (r := row(db, str(step["id"])))["status"] != "processing" and r
            ),
            "the reconciler to notice the lost worker",
        )
        assert lost["status"] == "pending", lost  # to run again, not failed
        assert lost["worker_losses"] == 1
    finally:
        ensure_running(stack, "worker")

    done = await wait_for(http, user, user["project"]["id"], {"completed", "failed"}, timeout_s=300)
    assert done["status"] == "completed", done
    assert_readable(done)
    assert step_rows(db, generation_id)[step["name"]]["worker_losses"] == 1
    # Not failed, so not refunded: the free video paid for the ad.
    assert done["refunded"] is False and (await me(http, user))["free_videos_used"] == 1


async def test_a_step_whose_horse_is_killed_too_often_fails_the_generation_readably_and_refunds_it(
    http, stack, db
):
    user = await new_user_with_project(http)
    reply = await start(http, user, user["project"]["id"], resolution=720)
    assert reply.status_code == 202, reply.text
    generation_id = reply.json()["id"]
    worker = stack.apps["worker"].pid
    killed: set[int] = set()
    step = None
    for loss in range(1, MAX_WORKER_LOSSES + 2):
        # The step running again (a new run: a new horse), then its horse killed; the worker lives.
        async def next_run(loss=loss):
            nonlocal step
            step = step or running_step(db, generation_id)
            if step is None:
                return None
            now = row(db, str(step["id"]))
            assert now["status"] in ("pending", "processing"), f"ended after {loss - 1} loss(es): {now}"
            fresh = [h for h in horses(worker) if h.pid not in killed]
            return now["status"] == "processing" and now.get("worker_losses", 0) == loss - 1 and fresh

        [horse] = await poll(next_run, f"run {loss} of the step")
        killed.add(horse.pid)
        horse.send_signal(signal.SIGKILL)

    failed = await wait_for(http, user, user["project"]["id"], {"completed", "failed"}, timeout_s=120)
    assert failed["status"] == "failed", failed
    times = MAX_WORKER_LOSSES + 1
    label = f"Scene {step['name'].removeprefix('scene_')}"
    expected = (
        f"{label} failed: the worker running it stopped unexpectedly {times} times; it is not run again."
    )
    assert failed["error_message"] == expected
    assert_readable(failed)
    assert step_rows(db, generation_id)[step["name"]]["worker_losses"] == times
    # Not the user's fault: the free video is given back.
    await poll(lambda: _free_videos_used(http, user, 0), "the refund")
    assert (
        await http.get(f"/api/projects/{user['project']['id']}/generation", headers=user["headers"])
    ).json()["refunded"]


async def test_a_step_that_starts_while_media_is_down_is_retried_and_the_ad_is_made(http, stack, db):
    user = await new_user_with_project(http, scenes=SCENES)
    seen: list[dict] = []
    stack.stop_app("media")
    try:
        reply = await start(http, user, user["project"]["id"])  # needs accounts and jobs, not media
        assert reply.status_code == 202, reply.text
        generation_id = reply.json()["id"]

        async def retrying_or_ended():
            body = (
                await http.get(f"/api/projects/{user['project']['id']}/generation", headers=user["headers"])
            ).json()
            seen.append(body)
            steps = step_rows(db, generation_id).values()
            return body["status"] not in ("pending", "processing") or any(
                s["attempts"] >= 2 or (s["stage"] or "").startswith("retrying") for s in steps
            )

        await poll(retrying_or_ended, "a step to fail to reach media", timeout_s=120)
    finally:
        stack.start_app("media")
    done = await wait_for(http, user, user["project"]["id"], {"completed", "failed"}, timeout_s=300)
    for body in [*seen, done]:
        assert_readable(body)
    assert done["status"] == "completed", done
    retried = [s for s in step_rows(db, generation_id).values() if s["attempts"] >= 2]
    assert retried, "no step saw media down"
    assert done["refunded"] is False


async def _free_videos_used(http, user, expected: int) -> bool:
    return (await me(http, user))["free_videos_used"] == expected


async def new_user_with_project(http, scenes=LONG_SCENES) -> dict:
    user = await new_user(http)
    user["project"] = await ready_project(http, user, images=1, scenes=scenes)
    return user
