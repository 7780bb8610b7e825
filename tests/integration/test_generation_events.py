"""What jobs tells accounts about generations goes the way every fact between services goes: an
event in jobs' outbox, written with the change, relayed to the events stream, consumed by accounts
in its own group. These tests run the real processes: a refund owed while accounts is down arrives
when it is back; a redelivered generation.settled refunds once; a late generation.started does not
set a completed project back; an event waits in jobs' outbox while Redis is down.

Generations that must fail in a given way are written straight into jobs' tables (with a real charge
taken through accounts); the reconciler then settles them as it settles any generation whose step
failed. Waits are bounded polls.
"""

from __future__ import annotations

import asyncio
import json
import uuid

from services.common.context import USER_ID_HEADER
from tests.support.api import new_brand, new_project, new_user, wait_until, wait_until_healthy
from tests.support.events import STREAM, stream_events
from tests.support.generation import generate, me, project_becomes, ready_project
from zapcut.accounts.v1 import accounts_pb2

ONE_SCENE = [{"order": 1, "description": "The can on a sunny table", "duration_s": 1}]


async def _user_with_project(http) -> tuple[dict, dict]:
    user = await new_user(http)
    brand = await new_brand(http, user["headers"])
    return user, await new_project(http, user["headers"], brand["id"])


async def _charged(accounts_stub, user: dict) -> str:
    """A generation id the user has paid for, through accounts' own ChargeGeneration."""
    generation_id = str(uuid.uuid4())
    await accounts_stub.ChargeGeneration(
        accounts_pb2.GenerationCharge(generation_id=generation_id), metadata=((USER_ID_HEADER, user["id"]),)
    )
    return generation_id


def _insert_generation(db, generation_id: str, project: dict, user: dict, status: str, charge: str | None):
    db.execute(
        "INSERT INTO jobs.generations (id, ad_project_id, user_id, status, aspect, resolution, provider, charge)"
        " VALUES (%s, %s, %s, %s, '9:16', 360, 'local', %s)",
        (generation_id, project["id"], user["id"], status, charge),
    )


def _insert_failed_generation(db, generation_id: str, project: dict, user: dict, charge: str) -> None:
    """A generation whose one step failed through no fault of the user's: the reconciler settles it
    as failed, with its charge owed back."""
    _insert_generation(db, generation_id, project, user, "processing", charge)
    db.execute(
        "INSERT INTO jobs.generation_jobs (ad_project_id, generation_id, name, job_type, status, fault,"
        " error_message, started_at, finished_at)"
        " VALUES (%s, %s, 'scene_1', 'scene', 'failed', 'system', 'Scene 1 failed: the provider failed.',"
        " now(), now())",
        (project["id"], generation_id),
    )


def _one(db, query: str, *args):
    return db.execute(query, args).fetchone()[0]


def _entry_key(entry_id: bytes | str) -> tuple[int, int]:
    ms, seq = (entry_id.decode() if isinstance(entry_id, bytes) else entry_id).split("-")
    return int(ms), int(seq)


async def _handled_by(redis_client, group: str, entry_id: bytes) -> None:
    """Until the consumer group has read the entry and acknowledged everything it read."""

    async def handled():
        found = {g["name"].decode(): g for g in redis_client.xinfo_groups(STREAM)}.get(group)
        return (
            found is not None
            and _entry_key(found["last-delivered-id"]) >= _entry_key(entry_id)
            and found["pending"] == 0
        )

    await wait_until(handled, f"the {group} group to handle {entry_id!r}")


def _events(redis_client, aggregate_id: str, event_type: str) -> list[tuple[bytes, dict]]:
    return [(e, f) for e, f in stream_events(redis_client, aggregate_id) if f[b"type"] == event_type.encode()]


async def _generation(http, user, project_id: str) -> dict:
    reply = await http.get(f"/api/projects/{project_id}/generation", headers=user["headers"])
    assert reply.status_code == 200, reply.text
    return reply.json()


async def test_a_generation_failed_while_accounts_is_down_is_refunded_when_accounts_is_back(
    http, stack, db, accounts_stub, redis_client
):
    user, project = await _user_with_project(http)
    generation_id = await _charged(accounts_stub, user)
    assert (await me(http, user))["free_videos_used"] == 1

    stack.stop_app("accounts")
    try:
        _insert_failed_generation(db, generation_id, project, user, "free_video")
        # Settled by the reconciler and published, with the refund owed, while nobody can apply it.
        [(_, fields)] = await wait_until(
            lambda: asyncio.to_thread(_events, redis_client, generation_id, "generation.settled"),
            "the generation.settled event",
        )
        payload = json.loads(fields[b"payload"])
        assert (payload["status"], payload["refund"], payload["project_status"]) == ("failed", True, "failed")
        assert _one(db, "SELECT free_videos_used FROM accounts.users WHERE id = %s", user["id"]) == 1
    finally:
        stack.start_app("accounts")
    await wait_until_healthy(http)  # the gateway's channels back, for this test and the next module

    async def refunded():
        return (await me(http, user))["free_videos_used"] == 0 and (
            await _generation(http, user, project["id"])
        )["refunded"]

    await wait_until(refunded, "the refund, once accounts is back")
    assert (await project_becomes(http, user, project["id"], "failed"))["status"] == "failed"
    # Nothing of it is left unpublished in either outbox.
    assert _one(db, "SELECT count(*) FROM jobs.outbox WHERE aggregate_id = %s", generation_id) == 0
    assert _one(db, "SELECT count(*) FROM accounts.outbox WHERE aggregate_id = %s", generation_id) == 0


REFUND_TIME = "SELECT created_at FROM accounts.credit_ledger WHERE generation_id = %s AND kind = 'refund'"


async def test_a_redelivered_generation_settled_refunds_once(http, db, accounts_stub, redis_client):
    user, project = await _user_with_project(http)
    # No free videos left, one credit: a refund shows as a credit, a second one would show too.
    db.execute("UPDATE accounts.users SET free_videos_used = 3, credits = 1 WHERE id = %s", (user["id"],))
    generation_id = await _charged(accounts_stub, user)
    assert (await me(http, user))["credits"] == 0

    _insert_failed_generation(db, generation_id, project, user, "credit")
    await wait_until(lambda: _generation_refunded(http, user, project["id"]), "the refund")
    assert (await me(http, user))["credits"] == 1
    refunded_at = _one(db, REFUND_TIME, generation_id)

    # The same entry again, as a relay that crashed before its commit would publish it.
    [(_, fields)] = _events(redis_client, generation_id, "generation.settled")
    replayed = redis_client.xadd(STREAM, fields)
    await _handled_by(redis_client, "accounts", replayed)

    assert (await me(http, user))["credits"] == 1
    assert _one(db, REFUND_TIME, generation_id) == refunded_at
    assert (
        _one(db, "SELECT count(*) FROM accounts.credit_ledger WHERE generation_id = %s", generation_id) == 2
    )
    assert len(_events(redis_client, generation_id, "charge.refunded")) == 1
    assert (await _generation(http, user, project["id"]))["refunded"] is True


async def _generation_refunded(http, user, project_id: str) -> bool:
    return (await _generation(http, user, project_id))["refunded"]


async def test_a_late_generation_started_leaves_the_project_completed(http, redis_client):
    user = await new_user(http)
    project = await ready_project(http, user, images=1, scenes=ONE_SCENE)
    done = await generate(http, user, project["id"])
    assert done["status"] == "completed", done
    await project_becomes(http, user, project["id"], "completed")

    # generation.started again, after generation.settled: a redelivery, or one that arrives late.
    [(_, started)] = _events(redis_client, done["id"], "generation.started")
    [(_, settled)] = _events(redis_client, done["id"], "generation.settled")
    assert int(started[b"sequence"]) < int(settled[b"sequence"])
    await _handled_by(redis_client, "accounts", redis_client.xadd(STREAM, started))
    project_now = (await http.get(f"/api/projects/{project['id']}", headers=user["headers"])).json()
    assert project_now["status"] == "completed"
    # And the settled one again changes nothing either (and refunds nothing: it owed nothing).
    await _handled_by(redis_client, "accounts", redis_client.xadd(STREAM, settled))
    project_now = (await http.get(f"/api/projects/{project['id']}", headers=user["headers"])).json()
    assert project_now["status"] == "completed"
    assert (await me(http, user))["free_videos_used"] == 1

    # The client may move a completed project on; an old event still cannot move it back.
    reply = await http.patch(
        f"/api/projects/{project['id']}", json={"status": "scripting"}, headers=user["headers"]
    )
    assert reply.status_code == 200, reply.text
    await _handled_by(redis_client, "accounts", redis_client.xadd(STREAM, started))
    project_now = (await http.get(f"/api/projects/{project['id']}", headers=user["headers"])).json()
    assert project_now["status"] == "scripting"


async def test_the_jobs_outbox_keeps_an_event_while_redis_is_down_and_publishes_it_after(
    http, stack, db, redis_client
):
    user, project = await _user_with_project(http)
    generation_id = str(uuid.uuid4())
    _insert_generation(db, generation_id, project, user, "pending", None)
    waiting = "SELECT count(*) FROM jobs.outbox WHERE aggregate_id = %s"

    stack.stop_backing_server("redis")
    try:
        reply = await http.post(f"/api/projects/{project['id']}/generation/cancel", headers=user["headers"])
        assert reply.status_code == 200, reply.text
        assert reply.json()["status"] == "cancelled"
        await asyncio.sleep(3)  # several relay rounds, all failing to reach Redis
        assert _one(db, waiting, generation_id) == 1
    finally:
        stack.restart_backing_server("redis")

    await wait_until(lambda: asyncio.to_thread(lambda: _one(db, waiting, generation_id) == 0), "the relay")
    [(_, fields)] = _events(redis_client, generation_id, "generation.settled")
    assert json.loads(fields[b"payload"])["status"] == "cancelled"
    # accounts reads it: a cancelled generation's project goes back to scripting.
    await project_becomes(http, user, project["id"], "scripting")
