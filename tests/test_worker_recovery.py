"""A generation survives the failures of the machinery under it, with real processes: media not
listening when a step starts (retried, the ad is made).

Tests that stop or kill a process start it again in `finally`. Waits are bounded polls; nothing
asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import time

from psycopg.rows import dict_row

from tests.api_helpers import new_user
from tests.test_generation import SCENES, ready_project, start, wait_for

DEBUG_STRINGS = ("_InactiveRpcError", "debug_error_string", "StatusCode.", "Traceback")


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


async def new_user_with_project(http, scenes) -> dict:
    user = await new_user(http)
    user["project"] = await ready_project(http, user, images=1, scenes=scenes)
    return user
