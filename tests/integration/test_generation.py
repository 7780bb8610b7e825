"""A real generation end to end through the gateway, with the local provider at a small size:
charging, idempotency, progress, the final MP4 in S3, cancellation, failures and refunds. A worker
killed mid-job: tests/integration/test_worker_recovery.py."""

from __future__ import annotations

import asyncio
import io
import json
import re
import tempfile
import time
import uuid

import av
import httpx
import numpy as np
from PIL import Image

from tests.support.api import new_brand, new_project, new_user
from tests.support.generation import (
    cancel_once,
    ended_in_history,
    generate,
    history,
    me,
    outputs,
    project_becomes,
    ready_project,
    start,
    wait_for,
)
from zapcut.media.v1 import media_pb2


async def test_a_generation_makes_a_real_ad(http, db, media_stub):
    user = await new_user(http)
    project = await ready_project(http, user)
    key = f"gen-{uuid.uuid4()}"

    reply = await start(http, user, project["id"], key)
    assert reply.status_code == 202, reply.text
    generation = reply.json()
    assert generation["status"] in ("pending", "processing")
    assert (generation["width"], generation["height"]) == (360, 640)
    names = [j["name"] for j in generation["jobs"]]
    assert names == ["scene_1", "scene_2", "scene_3", "voiceover", "music", "composite"]
    assert generation["charge"] == "free_video"

    # A retried request with the same key is the same generation, charged once.
    again = await start(http, user, project["id"], key)
    assert again.status_code == 202 and again.json()["id"] == generation["id"]
    assert (await me(http, user))["free_videos_used"] == 1
    # Another start while it runs is refused.
    busy = await start(http, user, project["id"], f"other-{uuid.uuid4()}")
    assert busy.status_code == 409, busy.text
    await project_becomes(http, user, project["id"], "generating")

    progress: list[int] = []
    done = await wait_for(http, user, project["id"], {"completed", "failed", "cancelled"}, seen=progress)
    assert done["status"] == "completed", done
    assert done["progress"] == 100 and progress == sorted(progress)
    assert all(j["status"] == "completed" and j["attempts"] == 1 for j in done["jobs"])
    assert all(j["provider"] == "local" for j in done["jobs"])

    # The final ad: in our bucket under the documented key, handed out as a presigned URL.
    key_prefix = f"generated-videos/{project['id']}/"
    listed = await media_stub.ListObjects(media_pb2.ListObjectsRequest(prefix=key_prefix))
    folder = f"{key_prefix}{generation['id']}/"
    assert sorted(o.key for o in listed.objects) == [
        f"{folder}captions.vtt",
        f"{folder}final_ad.mp4",
        f"{folder}poster.jpg",
        f"{folder}preview.mp4",
    ]
    kinds = {(o["kind"], o["aspect"], o["content_type"]) for o in done["outputs"]}
    assert kinds == {
        *{("scene_video", "9:16", "video/mp4")},
        ("voiceover", None, "audio/mpeg"),
        ("captions", None, "text/vtt"),
        ("music", None, "audio/mpeg"),
        ("final_video", "9:16", "video/mp4"),
        ("poster", "9:16", "image/jpeg"),
        ("preview", "9:16", "video/mp4"),
    }
    assert len(done["outputs"]) == 3 + 3 + 3  # each scene, the voice, its captions and the music, the
    # final video and its poster and preview
    async with httpx.AsyncClient(timeout=60) as client:
        video = await client.get(done["final_url"])
        cues = await client.get(done["captions_url"])
    assert video.status_code == 200
    # Its captions beside it: WebVTT cues of the script's voiceover, in the ad's timeline.
    assert cues.status_code == 200 and cues.text.startswith("WEBVTT")
    assert "-->" in cues.text
    with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
        f.write(video.content)
        f.flush()
        with av.open(f.name) as container:
            v = container.streams.video[0]
            a = container.streams.audio[0]
            assert v.codec_context.name == "h264" and a.codec_context.name == "aac"
            assert (v.codec_context.width, v.codec_context.height) == (360, 640)
            duration = float(container.duration) / av.time_base
            assert abs(duration - 3.0) <= 0.2, duration
    # faststart: the index comes before the media data, so a browser can start playing at once.
    assert video.content.find(b"moov") < video.content.find(b"mdat")
    await _check_poster_and_preview(done, video.content)

    await project_becomes(http, user, project["id"], "completed")
    listed = (await http.get(f"/api/projects/{project['id']}/generations", headers=user["headers"])).json()[
        "items"
    ]
    assert [g["id"] for g in listed] == [generation["id"]]

    # The same document as server-sent events: here the generation has ended, so one event and done.
    async with http.stream(
        "GET", f"/api/projects/{project['id']}/generation/events", headers=user["headers"]
    ) as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        text = "".join([chunk async for chunk in events.aiter_text()])
    data = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
    assert data and data[-1]["status"] == "completed"


async def test_events_follow_a_running_generation_once_per_change(http):
    """Followed from its start: an event whenever the generation changed, none when it did not,
    the last one completed, its URLs signed."""
    user = await new_user(http)
    project = await ready_project(http, user, images=1)
    assert (await start(http, user, project["id"])).status_code == 202
    async with http.stream(
        "GET", f"/api/projects/{project['id']}/generation/events", headers=user["headers"], timeout=300
    ) as events:
        text = "".join([chunk async for chunk in events.aiter_text()])
    data = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
    assert len(data) >= 2 and data[-1]["status"] == "completed", [d["status"] for d in data]
    assert data[-1]["final_url"].startswith("http")

    def unsigned(body: dict) -> str:
        return re.sub(r"https?://[^\"]+", "URL", json.dumps(body, sort_keys=True))

    assert all(unsigned(a) != unsigned(b) for a, b in zip(data, data[1:], strict=False)), (
        "an event repeated the last"
    )
    progress = [d["progress"] for d in data]
    assert progress == sorted(progress)


async def test_generation_needs_an_approved_script_and_something_to_pay_with(http, db):
    user = await new_user(http)
    brand = await new_brand(http, user["headers"])
    project = await new_project(http, user["headers"], brand["id"])
    reply = await start(http, user, project["id"])
    assert reply.status_code == 409, reply.text  # no script

    project = await ready_project(http, user, images=1)
    db.execute("UPDATE accounts.users SET free_videos_used = 3, credits = 0 WHERE id = %s", (user["id"],))
    reply = await start(http, user, project["id"])
    assert reply.status_code == 402, reply.text
    assert reply.json()["code"] == "payment_required"
    assert (
        await http.get(f"/api/projects/{project['id']}/generation", headers=user["headers"])
    ).status_code == 404
    assert (await me(http, user))["credits"] == 0

    # A credit pays when the free videos are used up.
    db.execute("UPDATE accounts.users SET credits = 1 WHERE id = %s", (user["id"],))
    reply = await start(http, user, project["id"])
    assert reply.status_code == 202, reply.text
    assert reply.json()["charge"] == "credit"
    assert (await me(http, user))["credits"] == 0
    await wait_for(http, user, project["id"], {"completed", "failed"})


async def test_another_users_project_is_not_found(http):
    owner, other = await new_user(http), await new_user(http)
    project = await ready_project(http, owner, images=1)
    assert (await start(http, other, project["id"])).status_code == 404
    assert (
        await http.get(f"/api/projects/{project['id']}/generation", headers=other["headers"])
    ).status_code == 404
    reply = await http.post(f"/api/projects/{project['id']}/generation/cancel", headers=other["headers"])
    assert reply.status_code == 404


async def test_cancelling_stops_queued_and_running_jobs_and_deletes_partial_outputs(http, media_stub):
    user = await new_user(http)
    long_scenes = [{"order": i, "description": f"scene {i}", "duration_s": 6} for i in range(1, 6)]
    project = await ready_project(http, user, images=2, scenes=long_scenes)
    reply = await start(http, user, project["id"], resolution=720)
    assert reply.status_code == 202, reply.text
    await wait_for(http, user, project["id"], {"processing"}, timeout_s=60)

    reply = await http.post(f"/api/projects/{project['id']}/generation/cancel", headers=user["headers"])
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "cancelled"

    deadline = time.monotonic() + 120
    while True:
        body = (await http.get(f"/api/projects/{project['id']}/generation", headers=user["headers"])).json()
        if all(j["status"] in ("cancelled", "completed", "failed") for j in body["jobs"]):
            break
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.5)
    assert body["status"] == "cancelled"
    statuses = {j["name"]: j["status"] for j in body["jobs"]}
    assert statuses["composite"] == "cancelled"
    # Jobs that were still queued never started.
    assert any(j["status"] == "cancelled" and j["started_at"] is None for j in body["jobs"])
    # Nothing the generation stored is left.
    for prefix in (
        f"scene-videos/{project['id']}/",
        f"audio/{project['id']}/",
        f"generated-videos/{project['id']}/",
    ):
        deadline = time.monotonic() + 30
        while (await media_stub.ListObjects(media_pb2.ListObjectsRequest(prefix=prefix))).objects:
            assert time.monotonic() < deadline, prefix
            await asyncio.sleep(0.5)
    await project_becomes(http, user, project["id"], "scripting")
    # A new generation may start once this one ended.
    again = await start(http, user, project["id"])
    assert again.status_code == 202, again.text
    await http.post(f"/api/projects/{project['id']}/generation/cancel", headers=user["headers"])


async def test_a_corrupt_image_fails_with_a_clear_message_and_no_refund(http):
    user = await new_user(http)
    corrupt = b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096  # a PNG signature over garbage
    project = await ready_project(http, user, images=1, image_bytes=corrupt)
    reply = await start(http, user, project["id"])
    assert reply.status_code == 202, reply.text
    done = await wait_for(http, user, project["id"], {"completed", "failed"})
    assert done["status"] == "failed"
    # One sentence naming the step and the image; no exception type (the fault is a column).
    assert done["error_message"].startswith("Scene ") and "p0.png" in done["error_message"]
    assert "Error" not in done["error_message"]
    assert done["refunded"] is False
    assert (await me(http, user))["free_videos_used"] == 1
    await project_becomes(http, user, project["id"], "failed")


async def listed_keys(media_stub, prefix: str) -> list[str]:
    reply = await media_stub.ListObjects(media_pb2.ListObjectsRequest(prefix=prefix))
    return sorted(o.key for o in reply.objects)


async def test_a_second_generation_of_a_project_leaves_the_first_ones_files_as_they_were(http, media_stub):
    user = await new_user(http)
    project = await ready_project(http, user, images=1)
    first = await generate(http, user, project["id"])
    first_files = await outputs(first)
    assert set(first_files) == {
        *("scene_1", "scene_2", "scene_3", "voiceover", "music", "composite"),
        *("final", "poster", "preview", "captions"),
    }

    # Another shape, so its files cannot be mistaken for the first one's.
    second = await generate(http, user, project["id"], aspect="1:1")
    both = await history(http, user, project["id"])
    assert list(both) == [second["id"], first["id"]]
    assert await outputs(both[first["id"]]) == first_files
    assert (await outputs(both[second["id"]]))["final"] != first_files["final"]
    # Each generation's files sit in its own folder inside the project's.
    finals = await listed_keys(media_stub, f"generated-videos/{project['id']}/")
    assert finals == sorted(
        f"generated-videos/{project['id']}/{g}/{name}"
        for g in both
        for name in ("final_ad.mp4", "captions.vtt", "poster.jpg", "preview.mp4")
    )


async def test_cancelling_a_generation_deletes_its_own_files_and_no_other_generations(http, media_stub):
    user = await new_user(http)
    project = await ready_project(http, user, images=1)
    first = await generate(http, user, project["id"])
    first_files = await outputs(first)

    # A longer script, so the second generation is cancelled with some scenes stored and some not.
    long_scenes = [{"order": i, "description": f"scene {i}", "duration_s": 6} for i in range(1, 6)]
    reply = await http.put(
        f"/api/projects/{project['id']}/script",
        json={"storyline": "A longer ad", "scenes": long_scenes},
        headers=user["headers"],
    )
    assert reply.status_code == 200, reply.text
    reply = await http.post(f"/api/projects/{project['id']}/script/approve", headers=user["headers"])
    assert reply.status_code == 200, reply.text
    reply = await start(http, user, project["id"])
    assert reply.status_code == 202, reply.text
    second_id = reply.json()["id"]
    await cancel_once(
        http,
        user,
        project["id"],
        lambda j: j["name"].startswith("scene_"),
        timeout_s=120,
        generation_id=second_id,
    )

    second = await ended_in_history(http, user, project["id"], second_id)
    assert second["status"] == "cancelled"
    # The completed one still plays, every file of it the same bytes as before.
    assert await outputs((await history(http, user, project["id"]))[first["id"]]) == first_files
    # The cancelled one hands out nothing, and nothing of it is left in the bucket.
    assert second["final_url"] is None and all(j["output_url"] is None for j in second["jobs"]), second
    assert second["poster_url"] is None and second["preview_url"] is None and second["outputs"] == [], second
    for kind in ("scene-videos", "audio", "generated-videos"):
        assert await listed_keys(media_stub, f"{kind}/{project['id']}/{second_id}/") == []


async def test_a_failed_generation_leaves_the_first_ones_files_as_they_were(http, media_stub):
    user = await new_user(http)
    project = await ready_project(http, user, images=1)
    first = await generate(http, user, project["id"])
    first_files = await outputs(first)
    first_keys = await listed_keys(media_stub, f"generated-videos/{project['id']}/{first['id']}/")

    # A corrupt image beside the good one: the next generation's scenes meet it, and it fails.
    brand_id = (await http.get(f"/api/projects/{project['id']}", headers=user["headers"])).json()["brand_id"]
    reply = await http.post(
        f"/api/brands/{brand_id}/files?kind=product_image",
        files={"file": ("corrupt.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096, "image/png")},
        headers=user["headers"],
    )
    assert reply.status_code == 201, reply.text
    reply = await start(http, user, project["id"])
    assert reply.status_code == 202, reply.text
    second = await ended_in_history(http, user, project["id"], reply.json()["id"])
    assert second["status"] == "failed" and "corrupt.png" in second["error_message"], second

    # The completed one still plays, every file the same bytes, none of its keys gone.
    assert await outputs((await history(http, user, project["id"]))[first["id"]]) == first_files
    assert await listed_keys(media_stub, f"generated-videos/{project['id']}/{first['id']}/") == first_keys


async def _check_poster_and_preview(generation: dict, final_video: bytes) -> None:
    """The poster is the final video's frame of the hook, full size; the preview its first seconds,
    small and silent."""
    async with httpx.AsyncClient(timeout=60) as client:
        poster = await client.get(generation["poster_url"])
        preview = await client.get(generation["preview_url"])
    assert poster.status_code == 200 and preview.status_code == 200
    image = Image.open(io.BytesIO(poster.content))
    assert image.format == "JPEG" and image.size == (generation["width"], generation["height"])
    hook_s = 1.0  # the first scene of SCENES lasts 1 s; the poster is taken inside it
    with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
        f.write(final_video)
        f.flush()
        frames = _frames(f.name)
    shown = np.asarray(image.convert("RGB"), dtype=np.float32)
    differences = {t: float(np.abs(frame - shown).mean()) for t, frame in frames.items()}
    closest = min(differences, key=lambda t: differences[t])
    # Within JPEG's own error: colors converted as JPEG viewers read them (BT.601 full range).
    assert closest < hook_s and differences[closest] < 4, differences

    with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
        f.write(preview.content)
        f.flush()
        with av.open(f.name) as container:
            assert not container.streams.audio
            v = container.streams.video[0]
            assert v.codec_context.name == "h264"
            assert min(v.codec_context.width, v.codec_context.height) == min(
                360, generation["width"], generation["height"]
            )
            assert float(container.duration) / av.time_base <= 6.1
    assert preview.content.find(b"moov") < preview.content.find(b"mdat")


def _frames(path: str) -> dict[float, np.ndarray]:
    """Every frame of a video as RGB, by its time in seconds."""
    frames = {}
    with av.open(path) as container:
        for frame in container.decode(video=0):
            frames[float(frame.time)] = frame.to_ndarray(format="rgb24").astype(np.float32)
    return frames
