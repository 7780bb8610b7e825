"""Deleting a user, brand or project removes what hangs under it everywhere: in accounts by the
database's cascades, in jobs and media (and S3) through the outbox and the events stream — also
when jobs and media were down at the time of the delete."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from psycopg import sql

from tests.support.api import (
    assert_error_body,
    client_ip_headers,
    new_brand,
    new_project,
    new_user,
    wait_until_healthy,
)
from tests.support.events import STREAM, stream_events
from tests.support.generation import generate, history, outputs, ready_project, start, wait_for
from tests.support.logs import log_size, wait_for_log_lines
from zapcut.jobs.v1 import jobs_pb2
from zapcut.media.v1 import media_pb2

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 2048


async def _store_scene(media_stub, project_id: str) -> str:
    async def messages():
        scene = media_pb2.SceneVideo(project_id=project_id, generation_id=str(uuid.uuid4()), n=1)
        ref = media_pb2.ObjectRef(scene_video=scene)
        yield media_pb2.UploadObjectRequest(header=media_pb2.UploadHeader(ref=ref, content_type="video/mp4"))
        yield media_pb2.UploadObjectRequest(chunk=b"\0" * 1024)
        yield media_pb2.UploadObjectRequest(finish=media_pb2.UploadFinish())

    return (await media_stub.UploadObject(messages())).key


async def _listed(media_stub, prefix: str) -> list[str]:
    reply = await media_stub.ListObjects(media_pb2.ListObjectsRequest(prefix=prefix))
    return [o.key for o in reply.objects]


async def _workspace(http, media_stub, jobs_stub, db, headers) -> dict:
    """A brand with an image, a project with a chat message, a job, a LoRA row and a stored scene."""
    brand = await new_brand(http, headers)
    reply = await http.post(
        f"/api/brands/{brand['id']}/files?kind=product_image",
        files={"file": ("p.png", PNG, "image/png")},
        headers=headers,
    )
    assert reply.status_code == 201, reply.text
    project = await new_project(http, headers, brand["id"])
    await http.post(
        f"/api/projects/{project['id']}/messages", json={"role": "user", "content": "hi"}, headers=headers
    )
    job = await jobs_stub.CreateJob(
        jobs_pb2.CreateJobRequest(ad_project_id=project["id"], job_type="diagnostic")
    )
    db.execute("INSERT INTO jobs.lora_models (brand_id) VALUES (%s)", (brand["id"],))
    scene_key = await _store_scene(media_stub, project["id"])
    return {"brand": brand["id"], "project": project["id"], "job": job.id, "scene": scene_key}


def _count(db, sql: str, *args) -> int:
    return db.execute(sql, args).fetchone()[0]


async def _wait_until_gone(db, media_stub, w: dict, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        left = {
            "jobs": _count(
                db, "SELECT count(*) FROM jobs.generation_jobs WHERE ad_project_id = %s", w["project"]
            ),
            "loras": _count(db, "SELECT count(*) FROM jobs.lora_models WHERE brand_id = %s", w["brand"]),
            "rows": _count(
                db,
                "SELECT count(*) FROM media.media_objects WHERE brand_id = %s OR ad_project_id = %s",
                w["brand"],
                w["project"],
            ),
            "images": len(await _listed(media_stub, f"product-images/{w['brand']}/")),
            "scenes": len(await _listed(media_stub, f"scene-videos/{w['project']}/")),
        }
        if not any(left.values()):
            return
        assert time.monotonic() < deadline, f"still there after {timeout_s} s: {left}"
        await asyncio.sleep(0.5)


async def test_deleting_a_user_while_jobs_and_media_are_down_removes_everything_once_they_return(
    http, stack, db, media_stub, jobs_stub, redis_client
):
    user = await new_user(http)
    w = await _workspace(http, media_stub, jobs_stub, db, user["headers"])
    assert _count(db, "SELECT count(*) FROM media.media_objects WHERE brand_id = %s", w["brand"]) == 1

    stack.stop_app("jobs")
    stack.stop_app("media")
    try:
        reply = await http.delete("/api/auth/me", headers=user["headers"])
        assert reply.status_code == 204, reply.text
        # accounts: gone at once, by the database's cascades.
        for table, column, value in [
            ("users", "id", user["id"]),
            ("brands", "user_id", user["id"]),
            ("ad_projects", "user_id", user["id"]),
            ("chat_messages", "ad_project_id", w["project"]),
        ]:
            assert _count(db, f"SELECT count(*) FROM accounts.{table} WHERE {column} = %s", value) == 0, table
        # The event is published to the stream even while its consumers are down.
        deadline = time.monotonic() + 20
        while not stream_events(redis_client, user["id"]):
            assert time.monotonic() < deadline, "the user.deleted event was never published"
            await asyncio.sleep(0.2)
        # Nothing of the user's was removed in jobs while jobs was down.
        assert _count(db, "SELECT count(*) FROM jobs.generation_jobs WHERE id = %s", w["job"]) == 1
    finally:
        stack.start_app("media")
        stack.start_app("jobs")
    await wait_until_healthy(http)  # the gateway's channels back, for this test and the next module

    await _wait_until_gone(db, media_stub, w)
    await _wait_until_nothing_names(db, [user["id"], w["brand"], w["project"]])
    # The login is gone too: from an address of its own, so the password is checked rather than the
    # request refused for failures other tests made from the same address.
    again = await http.post(
        "/api/auth/login",
        json={"email": user["email"], "password": user["password"]},
        headers=client_ip_headers(),
    )
    assert_error_body(again, 401, "unauthenticated")


async def test_deleting_a_brand_or_a_project_removes_its_jobs_and_objects(http, db, media_stub, jobs_stub):
    user = await new_user(http)
    w = await _workspace(http, media_stub, jobs_stub, db, user["headers"])
    reply = await http.delete(f"/api/projects/{w['project']}", headers=user["headers"])
    assert reply.status_code == 204
    deadline = time.monotonic() + 30
    while _count(db, "SELECT count(*) FROM jobs.generation_jobs WHERE ad_project_id = %s", w["project"]) or (
        await _listed(media_stub, f"scene-videos/{w['project']}/")
    ):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.5)
    # The brand (and its image) is untouched by deleting one of its projects.
    assert await _listed(media_stub, f"product-images/{w['brand']}/")

    reply = await http.delete(f"/api/brands/{w['brand']}", headers=user["headers"])
    assert reply.status_code == 204
    await _wait_until_gone(db, media_stub, w)


async def test_an_event_stays_unpublished_until_the_stream_accepts_it(http, stack, db, redis_client):
    user = await new_user(http)
    brand = await new_brand(http, user["headers"])
    accounts_log = stack.log_dir / "accounts.log"
    stack.stop_backing_server("redis")
    try:
        after = log_size(accounts_log)
        reply = await http.delete(f"/api/brands/{brand['id']}", headers=user["headers"])
        assert reply.status_code == 204
        # Two relay rounds fail to publish it (a round with nothing to publish never calls Redis).
        await wait_for_log_lines(accounts_log, "outbox relay: ", after, count=2)
        waiting = _count(db, "SELECT count(*) FROM accounts.outbox WHERE aggregate_id = %s", brand["id"])
        assert waiting == 1
    finally:
        stack.restart_backing_server("redis")
    deadline = time.monotonic() + 30
    # Published, then (in the same transaction) gone from the outbox.
    while _count(db, "SELECT count(*) FROM accounts.outbox WHERE aggregate_id = %s", brand["id"]):
        assert time.monotonic() < deadline, "the event was not published after Redis came back"
        await asyncio.sleep(0.2)
    assert len(stream_events(redis_client, brand["id"])) == 1


async def test_the_same_event_twice_does_no_harm(http, db, media_stub, jobs_stub, redis_client):
    user = await new_user(http)
    w = await _workspace(http, media_stub, jobs_stub, db, user["headers"])
    reply = await http.delete(f"/api/brands/{w['brand']}", headers=user["headers"])
    assert reply.status_code == 204
    await _wait_until_gone(db, media_stub, w)

    # Deliver the same event again, as a relay that crashed before its commit would.
    [(_, fields)] = stream_events(redis_client, w["brand"])
    entry = redis_client.xadd(STREAM, fields)
    deadline = time.monotonic() + 30
    while True:
        groups = {g["name"].decode(): g for g in redis_client.xinfo_groups(STREAM)}
        handled = all(
            groups[name]["last-delivered-id"] >= entry and groups[name]["pending"] == 0
            for name in ("media", "jobs")
        )
        if handled:
            break
        assert time.monotonic() < deadline, groups
        await asyncio.sleep(0.2)
    # Still healthy, and another user's brand is untouched by the replay.
    other = await new_user(http)
    kept = await new_brand(http, other["headers"])
    assert (await http.get(f"/api/brands/{kept['id']}", headers=other["headers"])).status_code == 200
    assert (await http.get("/api/health")).status_code == 200


# --- nothing left anywhere ---------------------------------------------------------------------

SERVICE_SCHEMAS = ["accounts", "media", "jobs"]
# Column types searched as text for an id written inside them (object keys, JSON payloads, plans).
TEXT_TYPES = {"text", "character varying", "character", "json", "jsonb", "ARRAY"}


def rows_naming(db, ids: list[str]) -> dict[str, int]:
    """'schema.table.column' -> how many rows name any of ids, over every column of every table of
    every service schema, so a table added later is covered without anyone remembering it."""
    columns = db.execute(
        "SELECT c.table_schema, c.table_name, c.column_name, c.data_type"
        " FROM information_schema.columns c JOIN information_schema.tables t"
        "  ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
        " WHERE c.table_schema = ANY(%s) AND t.table_type = 'BASE TABLE'"
        " AND c.table_name <> 'alembic_version' ORDER BY 1, 2, 3",
        (SERVICE_SCHEMAS,),
    ).fetchall()
    assert {schema for schema, *_ in columns} == set(SERVICE_SCHEMAS)
    found = {}
    for schema, table, column, data_type in columns:
        if data_type == "uuid":
            condition, argument = sql.SQL("{} = ANY(%s::uuid[])"), ids
        elif data_type in TEXT_TYPES:
            condition, argument = sql.SQL("{}::text ILIKE ANY(%s)"), [f"%{i}%" for i in ids]
        else:
            continue
        query = sql.SQL("SELECT count(*) FROM {} WHERE ").format(sql.Identifier(schema, table))
        query += condition.format(sql.Identifier(column))
        if count := db.execute(query, (argument,)).fetchone()[0]:
            found[f"{schema}.{table}.{column}"] = count
    return found


async def _wait_until_nothing_names(db, ids: list[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while left := rows_naming(db, ids):
        assert time.monotonic() < deadline, f"rows still naming the deleted ids after {timeout_s} s: {left}"
        await asyncio.sleep(0.5)


async def _nothing_stored_for(media_stub, project_id: str, timeout_s: float = 60) -> None:
    """Waits, like the rows: a step whose upload was in flight when its generation was deleted
    finds it gone only once the upload returns, and then deletes what it stored (Step.store)."""
    deadline = time.monotonic() + timeout_s
    while left := [
        key
        for kind in ("scene-videos", "audio", "generated-videos")
        for key in await _listed(media_stub, f"{kind}/{project_id}/")
    ]:
        assert time.monotonic() < deadline, f"objects still stored after {timeout_s} s: {left}"
        await asyncio.sleep(0.5)


async def test_deleting_a_project_leaves_no_row_that_names_it_in_any_schema(http, db, media_stub):
    user = await new_user(http)
    project = await ready_project(http, user, images=1)
    await generate(http, user, project["id"])
    assert "jobs.generations.ad_project_id" in rows_naming(db, [project["id"]])

    reply = await http.delete(f"/api/projects/{project['id']}", headers=user["headers"])
    assert reply.status_code == 204, reply.text
    await _wait_until_nothing_names(db, [project["id"]])
    await _nothing_stored_for(media_stub, project["id"])
    # Its brand and user are another matter: still there.
    assert (await http.get(f"/api/brands/{project['brand_id']}", headers=user["headers"])).status_code == 200


async def test_deleting_a_brand_while_its_project_generates_leaves_no_row_behind(http, db, media_stub):
    user = await new_user(http)
    long_scenes = [{"order": i, "description": f"scene {i}", "duration_s": 6} for i in range(1, 4)]
    project = await ready_project(http, user, images=1, scenes=long_scenes)
    reply = await start(http, user, project["id"])
    assert reply.status_code == 202, reply.text
    await wait_for(http, user, project["id"], {"processing"}, timeout_s=60)

    reply = await http.delete(f"/api/brands/{project['brand_id']}", headers=user["headers"])
    assert reply.status_code == 204, reply.text
    # The running step stops at its next checkpoint and deletes what it stored; queued ones never run.
    await _wait_until_nothing_names(db, [project["brand_id"], project["id"]])
    await _nothing_stored_for(media_stub, project["id"])


async def test_deleting_a_user_leaves_no_row_that_names_them_or_theirs_in_any_schema(http, db, media_stub):
    user = await new_user(http)
    project = await ready_project(http, user, images=1)
    await generate(http, user, project["id"])
    # A generation whose project went before generations were deleted with their project: the
    # user.deleted event names no such project, so it is found by its user.
    gone_project = str(uuid.uuid4())
    db.execute(
        "INSERT INTO jobs.generations (ad_project_id, user_id, status, aspect, resolution, provider, plan)"
        " VALUES (%s, %s, 'completed', '9:16', 360, 'local', %s)",
        (gone_project, user["id"], json.dumps({"images": [f"product-images/{project['brand_id']}/p0.png"]})),
    )
    ids = [user["id"], project["brand_id"], project["id"], gone_project]
    assert "jobs.generations.user_id" in rows_naming(db, ids)

    reply = await http.delete("/api/auth/me", headers=user["headers"])
    assert reply.status_code == 204, reply.text
    await _wait_until_nothing_names(db, ids)
    await _nothing_stored_for(media_stub, project["id"])


async def test_a_generation_stored_before_generation_ids_plays_until_its_project_is_deleted(
    http, db, media_stub
):
    """Keys written before outputs were keyed by generation stay where they are: their generation
    plays beside newer ones and goes with its project."""
    user = await new_user(http)
    project = await ready_project(http, user, images=1)
    old_key, old_bytes = f"generated-videos/{project['id']}/final_ad.mp4", b"\0\0\0 ftypisom an old ad"

    async def messages():
        ref = media_pb2.ObjectRef(key=old_key)
        yield media_pb2.UploadObjectRequest(header=media_pb2.UploadHeader(ref=ref, content_type="video/mp4"))
        yield media_pb2.UploadObjectRequest(chunk=old_bytes)
        yield media_pb2.UploadObjectRequest(finish=media_pb2.UploadFinish())

    await media_stub.UploadObject(messages())
    old_id = db.execute(
        "INSERT INTO jobs.generations (ad_project_id, user_id, status, aspect, resolution, provider,"
        " final_key, finished_at) VALUES (%s, %s, 'completed', '9:16', 360, 'local', %s, now()) RETURNING id",
        (project["id"], user["id"], old_key),
    ).fetchone()[0]
    db.execute(
        "INSERT INTO jobs.generation_jobs (ad_project_id, generation_id, name, job_type, status, output_url)"
        " VALUES (%s, %s, 'composite', 'composite', 'completed', %s)",
        (project["id"], old_id, old_key),
    )
    new = await generate(http, user, project["id"])

    listed = await history(http, user, project["id"])
    assert list(listed) == [new["id"], str(old_id)]
    assert (await outputs(listed[str(old_id)])) == {"composite": old_bytes, "final": old_bytes}
    assert (await outputs(listed[new["id"]]))["final"] != old_bytes

    reply = await http.delete(f"/api/projects/{project['id']}", headers=user["headers"])
    assert reply.status_code == 204, reply.text
    await _wait_until_nothing_names(db, [project["id"]])
    await _nothing_stored_for(media_stub, project["id"])
