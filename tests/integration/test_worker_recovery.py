"""A generation survives the failures of the machinery under it, with real processes: a worker
SIGKILLed mid-step (the step runs again and the ad is made, not failed and refunded), a work horse
killed more often than JOB_MAX_WORKER_LOSSES allows (the generation fails with one readable sentence
and is refunded), media not listening when a step starts (retried, the ad is made), and what a
killed worker leaves behind (no process of its tree survives; its horse's temporary directory is
removed; the next worker's scheduler takes the scheduler lock).

Tests that stop or kill a process start it again in `finally`. Waits are bounded polls; nothing
asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import uuid
from functools import partial
from pathlib import Path

import psutil
from psycopg.rows import dict_row
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler

from services.jobs.config import Settings
from tests.support.api import new_user, wait_until, wait_until_healthy
from tests.support.generation import SCENES, me, ready_project, start, wait_for
from tests.support.jobs import create, row, wait_for_status

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


# Restarts and re-runs take a while: longer waits, checked less often.
poll = partial(wait_until, timeout_s=180, every_s=0.3)


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


def workdirs_of(job_id: str) -> set[Path]:
    """A step's temporary work directories, wherever under the temp directory the worker put them."""
    root = Path(tempfile.gettempdir())
    pattern = f"zapcut-*-{job_id[:8]}-*"
    return set(root.glob(pattern)) | set(root.glob(f"zapcut-*/{pattern}"))


def ensure_running(stack, app: str) -> None:
    if not stack.apps[app].running:
        stack.start_app(app)


async def test_a_worker_killed_mid_step_runs_the_step_again_and_the_ad_is_made(http, stack, db):
    user = await new_user_with_project(http)
    reply = await start(http, user, user["project"]["id"], resolution=720)
    assert reply.status_code == 202, reply.text
    generation_id = reply.json()["id"]

    # A step running, with its temporary directory made.
    async def step_with_workdir():
        step = running_step(db, generation_id)
        return step and (dirs := workdirs_of(str(step["id"]))) and (step, dirs)

    step, killed_dirs = await poll(step_with_workdir, "a step to be running")
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
    # The killed horse could not remove its temporary directory; the restarted worker did.
    await poll(lambda: asyncio.to_thread(lambda: not (killed_dirs & workdirs_of(str(step["id"])))), "cleanup")


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
    await wait_until_healthy(http)  # the gateway's channels back, for this test and the next module
    done = await wait_for(http, user, user["project"]["id"], {"completed", "failed"}, timeout_s=300)
    for body in [*seen, done]:
        assert_readable(body)
    assert done["status"] == "completed", done
    retried = [s for s in step_rows(db, generation_id).values() if s["attempts"] >= 2]
    assert retried, "no step saw media down"
    assert done["refunded"] is False


async def test_no_process_of_a_killed_worker_survives_and_the_next_scheduler_takes_the_lock(
    stack, jobs_stub, db, redis_client
):
    lock = RQScheduler.get_locking_key("default")

    def scheduler_of(worker_pid: int) -> int | None:
        """The pid of the scheduler holding the lock, if it is a child of worker_pid."""
        holder = redis_client.get(lock)
        pid = holder and redis_client.hget(SCHEDULER_KEY_TEMPLATE % holder.decode(), "pid")
        children = {c.pid for c in psutil.Process(worker_pid).children()}
        return int(pid) if pid and int(pid) in children else None

    ensure_running(stack, "worker")
    old = stack.apps["worker"]
    await poll(
        lambda: asyncio.to_thread(scheduler_of, old.pid),
        "the worker's scheduler to hold the lock",
        timeout_s=90,
    )
    job = await create(jobs_stub, str(uuid.uuid4()), hold_s=6, payload_kb=1)
    await poll(lambda: asyncio.to_thread(lambda: row(db, job.id)["status"] == "processing"), "the job to run")
    tree = psutil.Process(old.pid).children(recursive=True)
    assert len(tree) >= 2, tree  # the scheduler and the work horse

    os.kill(old.pid, signal.SIGKILL)  # the worker alone, as the OOM killer would
    old.popen.wait(10)
    try:
        gone, alive = psutil.wait_procs(tree, timeout=10)
        assert alive == [], f"processes of the killed worker still run: {alive}"
    finally:
        for process in tree:  # survivors, if any, so later tests see a clean machine
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        stack.start_app("worker")

    # The dead scheduler's lease (61 s) would keep the new one out; the new worker frees it at start.
    new = stack.apps["worker"]
    await poll(
        lambda: asyncio.to_thread(scheduler_of, new.pid),
        "the new worker's scheduler to take the lock",
        timeout_s=45,
    )
    done = await wait_for_status(db, job.id, {"completed", "failed"})
    assert (done["status"], done["worker_losses"]) == ("completed", 1)


async def _free_videos_used(http, user, expected: int) -> bool:
    return (await me(http, user))["free_videos_used"] == expected


async def new_user_with_project(http, scenes=LONG_SCENES) -> dict:
    user = await new_user(http)
    user["project"] = await ready_project(http, user, images=1, scenes=scenes)
    return user
