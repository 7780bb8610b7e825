"""Every placement at once: one generation asks for several aspects ("aspects": ["9:16", "1:1",
"16:9"]); each placement's scenes are laid out at its own size, the voiceover and music are made
once, each placement's final video, poster and preview are listed, and it is charged once."""

from __future__ import annotations

import asyncio
import io
import json
import tempfile
import time
import uuid

import av
import httpx
import numpy as np
from PIL import Image
from rq.job import Job

from services.common.db import create_async_db
from services.jobs.queue import job_records
from tests.support.api import assert_error_body, new_user
from tests.support.generation import (
    SCENES,
    TERMINAL,
    cancel_once,
    ended_in_history,
    generate,
    history,
    me,
    ready_project,
    start,
)
from zapcut.media.v1 import media_pb2

# The middle scene a benefit, so it gets the split layout (headline beside or above the product).
PLACED_SCENES = [
    SCENES[0],
    {"order": 2, "description": "Benefit: no sugar", "duration_s": 1, "on_screen_text": "Zero sugar"},
    SCENES[2],
]
SIZES = {"9:16": (360, 640), "1:1": (360, 360), "16:9": (640, 360)}


async def download(url: str) -> bytes:
    async with httpx.AsyncClient(timeout=60) as client:
        reply = await client.get(url)
    assert reply.status_code == 200, url
    return reply.content


def video_facts(data: bytes) -> tuple[tuple[int, int], float, np.ndarray]:
    """(width, height), duration in seconds and the middle frame (RGB) of an MP4."""
    with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
        f.write(data)
        f.flush()
        with av.open(f.name) as container:
            v = container.streams.video[0]
            size = (v.codec_context.width, v.codec_context.height)
            duration = float(container.duration) / av.time_base
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return size, duration, frames[len(frames) // 2].astype(np.float32)


def best_crop_difference(wide: np.ndarray, tall: np.ndarray) -> float:
    """How far `wide` is from every same-shaped crop of `tall` (scaled to `tall`'s width): the
    smallest mean absolute difference per channel. A cropped placement would be close to 0."""
    height, width = tall.shape[:2]
    band = round(width * wide.shape[0] / wide.shape[1])
    scaled = np.asarray(
        Image.fromarray(wide.astype(np.uint8)).resize((width, band), Image.Resampling.BILINEAR), np.float32
    )
    return min(
        float(np.abs(tall[top : top + band] - scaled).mean()) for top in range(0, height - band + 1, 4)
    )


async def test_one_generation_renders_every_placement_at_once(http, redis_client):
    user = await new_user(http)
    project = await ready_project(http, user, scenes=PLACED_SCENES)
    aspects = ["9:16", "1:1", "16:9"]
    done = await generate(http, user, project["id"], aspects=aspects)

    # The primary's fields are as a single-placement client knows them.
    assert done["aspects"] == aspects
    assert (done["aspect"], done["width"], done["height"]) == ("9:16", 360, 640)
    assert [(p["aspect"], p["width"], p["height"]) for p in done["placements"]] == [
        (a, *SIZES[a]) for a in aspects
    ]
    primary = done["placements"][0]
    assert (primary["final_url"], primary["poster_url"], primary["preview_url"]) == (
        done["final_url"],
        done["poster_url"],
        done["preview_url"],
    )
    # Scenes and a composite per placement; the voice and the music once.
    names = sorted(j["name"] for j in done["jobs"])
    assert names == sorted(
        [f"scene_{n}{suffix}" for n in (1, 2, 3) for suffix in ("", "-1x1", "-16x9")]
        + ["voiceover", "music", "composite", "composite-1x1", "composite-16x9"]
    )
    # Each composite waited on its own placement's scenes and the audio, no other placement's.
    ids = {j["name"]: j["id"] for j in done["jobs"]}
    for composite, suffix in (("composite", ""), ("composite-1x1", "-1x1"), ("composite-16x9", "-16x9")):
        waited = set(Job.fetch(ids[composite], connection=redis_client).dependency_ids)
        assert waited == {ids[f"scene_{n}{suffix}"] for n in (1, 2, 3)} | {ids["voiceover"], ids["music"]}
    # Charged as one generation.
    assert done["charge"] == "free_video"
    assert (await me(http, user))["free_videos_used"] == 1

    # Each placement's final video at its size and the script's length; its poster at its size.
    for placement in done["placements"]:
        size, duration, _ = video_facts(await download(placement["final_url"]))
        assert size == SIZES[placement["aspect"]], placement["aspect"]
        assert abs(duration - 3.0) < 0.2, (placement["aspect"], duration)
        poster = Image.open(io.BytesIO(await download(placement["poster_url"])))
        assert poster.size == SIZES[placement["aspect"]]
        assert placement["preview_url"]
    finals = {o["aspect"] for o in done["outputs"] if o["kind"] == "final_video"}
    assert finals == set(aspects)
    assert not any("-9x16" in urlpath(o["url"]) for o in done["outputs"])
    assert {urlpath(o["url"]).rsplit("/", 1)[-1] for o in done["outputs"] if o["aspect"] == "16:9"} == {
        "scene_1-16x9.mp4",
        "scene_2-16x9.mp4",
        "scene_3-16x9.mp4",
        "final_ad-16x9.mp4",
        "poster-16x9.jpg",
        "preview-16x9.mp4",
    }

    # The split scene is laid out again for each shape, not cut out of another placement's.
    outputs = {j["name"]: j["output_url"] for j in done["jobs"]}
    tall = video_facts(await download(outputs["scene_2"]))[2]
    for name in ("scene_2-1x1", "scene_2-16x9"):
        other = video_facts(await download(outputs[name]))[2]
        assert best_crop_difference(other, tall) > 20, name


def urlpath(url: str) -> str:
    return httpx.URL(url).path


async def test_placements_asked_for_wrongly_are_refused_with_field_errors(http):
    user = await new_user(http)
    project_id = str(uuid.uuid4())  # the body is checked first
    for body in (
        {"aspects": ["9:16", "9:16"]},
        {"aspects": ["9:16", "1:1", "16:9", "9:16"]},
        {"aspects": ["4:3"]},
        {"aspects": []},
        {"aspect": "1:1", "aspects": ["9:16", "1:1"]},
    ):
        reply = await http.post(f"/api/projects/{project_id}/generate", json=body, headers=user["headers"])
        problem = assert_error_body(reply, 422, "validation_error")
        assert any(e["field"].startswith("body") for e in problem["errors"]), problem
    # The primary named twice is fine.
    project = await ready_project(http, user)
    reply = await start(http, user, project["id"], aspect="1:1", aspects=["1:1", "16:9"])
    assert reply.status_code == 202, reply.text
    assert reply.json()["aspects"] == ["1:1", "16:9"]
    await http.post(f"/api/projects/{project['id']}/generation/cancel", headers=user["headers"])


async def test_cancelling_a_generation_of_several_placements_deletes_every_placements_files(http, media_stub):
    user = await new_user(http)
    long_scenes = [{"order": i, "description": f"scene {i}", "duration_s": 3} for i in range(1, 4)]
    project = await ready_project(http, user, images=1, scenes=long_scenes)
    reply = await start(http, user, project["id"], aspects=["9:16", "16:9"])
    assert reply.status_code == 202, reply.text
    generation_id = reply.json()["id"]
    # Cancelled once a scene of the second placement is stored.
    await cancel_once(http, user, project["id"], lambda j: j["name"].endswith("-16x9"))

    cancelled = await ended_in_history(http, user, project["id"], generation_id)
    assert cancelled["status"] == "cancelled"
    assert all(p["final_url"] is None for p in cancelled["placements"]), cancelled
    for kind in ("scene-videos", "audio", "generated-videos"):
        prefix = f"{kind}/{project['id']}/{generation_id}/"
        deadline = time.monotonic() + 30
        while (await media_stub.ListObjects(media_pb2.ListObjectsRequest(prefix=prefix))).objects:
            assert time.monotonic() < deadline, prefix
            await asyncio.sleep(0.5)


async def test_a_scene_made_again_is_made_again_in_every_placement(http):
    user = await new_user(http)
    project = await ready_project(http, user, images=1)
    first = await generate(http, user, project["id"], aspects=["9:16", "16:9"])

    path = f"/api/projects/{project['id']}/generations/{first['id']}/scenes/2/regenerate"
    reply = await http.post(path, json={"on_screen_text": "Now in mango"}, headers=user["headers"])
    assert reply.status_code == 202, reply.text
    second_id = reply.json()["id"]
    deadline = time.monotonic() + 300
    while (second := (await history(http, user, project["id"]))[second_id])["status"] not in TERMINAL:
        assert time.monotonic() < deadline, second
        await asyncio.sleep(0.5)
    assert second["status"] == "completed", second

    ran = {j["name"] for j in second["jobs"] if j["attempts"] > 0}
    assert ran == {"scene_2", "scene_2-16x9", "composite", "composite-16x9"}
    assert second["aspects"] == ["9:16", "16:9"]
    before = {j["name"]: urlpath(j["output_url"]) for j in first["jobs"]}
    after = {j["name"]: urlpath(j["output_url"]) for j in second["jobs"]}
    for name in ("scene_1", "scene_3", "scene_1-16x9", "scene_3-16x9", "voiceover", "music"):
        assert after[name] == before[name], name
    for placement in second["placements"]:
        assert f"/{second_id}/" in urlpath(placement["final_url"]), placement


async def test_the_reconciler_enqueues_a_placements_composite_once_its_own_scenes_are_done(stack, db):
    """Rows written behind the service's back, created in the future so the running reconciler
    leaves them alone; its query asked directly."""
    project, generation = str(uuid.uuid4()), str(uuid.uuid4())
    db.execute(
        "INSERT INTO jobs.generations (id, ad_project_id, user_id, status, aspect, resolution, provider)"
        " VALUES (%s, %s, %s, 'cancelled', '9:16', 360, 'local')",
        (generation, project, str(uuid.uuid4())),
    )
    ids = {}
    for name, job_type, status, params in (
        ("scene_1", "scene", "completed", {"n": 1}),
        ("scene_1-16x9", "scene", "pending", {"n": 1, "aspect": "16:9"}),
        ("voiceover", "voiceover", "completed", {}),
        ("music", "music", "completed", {}),
        ("composite", "composite", "pending", {}),
        ("composite-16x9", "composite", "pending", {"aspect": "16:9"}),
    ):
        ids[name] = db.execute(
            "INSERT INTO jobs.generation_jobs (ad_project_id, generation_id, name, job_type, status,"
            " input_params, created_at) VALUES (%s, %s, %s, %s, %s, %s, now() + interval '1 hour')"
            " RETURNING id",
            (
                project,
                generation,
                name,
                job_type,
                status,
                json.dumps({"generation_id": generation, **params}),
            ),
        ).fetchone()[0]
    engine = create_async_db(stack.env["DATABASE_URL"])
    try:
        listed = {r.id for r in await job_records.pending_page(engine, -7200, None, 1000)}
    finally:
        await engine.dispose()
    assert ids["scene_1-16x9"] in listed
    assert ids["composite"] in listed  # its scenes and the audio are done
    assert ids["composite-16x9"] not in listed  # its scene is not
