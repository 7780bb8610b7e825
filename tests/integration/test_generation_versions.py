"""One scene made again (POST .../generations/{id}/scenes/{n}/regenerate): a new version of a
completed generation renders that scene and the composite only, reuses every other file, and leaves
the earlier version as it was; free for REGENERATE_SCENE_FREE_VERSIONS versions, then charged."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from tests.support.api import assert_error_body, new_user
from tests.support.generation import (
    TERMINAL,
    ended_in_history,
    generate,
    history,
    me,
    outputs,
    ready_project,
    wait_for,
)

FREE_VERSIONS = 3  # the setting's default, which the test stack keeps


def regenerate_path(project_id: str, generation_id: str, n: int) -> str:
    return f"/api/projects/{project_id}/generations/{generation_id}/scenes/{n}/regenerate"


async def regenerate(http, user, project_id, generation_id, n, **texts):
    return await http.post(regenerate_path(project_id, generation_id, n), json=texts, headers=user["headers"])


async def regenerated(http, user, project_id, generation_id, n, **texts) -> dict:
    reply = await regenerate(http, user, project_id, generation_id, n, **texts)
    assert reply.status_code == 202, reply.text
    started = reply.json()
    done = await wait_for(http, user, project_id, TERMINAL)
    assert done["id"] == started["id"] and done["status"] == "completed", done
    return done


def key_of(url: str | None) -> str | None:
    return urlsplit(url).path if url else None


def jobs_of(generation: dict) -> dict[str, dict]:
    return {j["name"]: j for j in generation["jobs"]}


async def test_a_scene_made_again_is_a_new_version_that_renders_only_that_scene(http):
    user = await new_user(http)
    project = await ready_project(http, user)
    first = await generate(http, user, project["id"])
    first_files = await outputs(first)
    used = (await me(http, user))["free_videos_used"]

    second = await regenerated(http, user, project["id"], first["id"], 2, on_screen_text="Now in mango")

    assert (second["version"], second["revises_id"]) == (2, first["id"])
    assert second["charge"] is None  # a free version
    assert (await me(http, user))["free_videos_used"] == used
    before, after = jobs_of(first), jobs_of(second)
    # Scene 2 and the composite ran again; every other step names the earlier version's file.
    assert {name for name, j in after.items() if j["attempts"] > 0} == {"scene_2", "composite"}
    for name in ("scene_1", "scene_3", "voiceover", "music"):
        assert key_of(after[name]["output_url"]) == key_of(before[name]["output_url"]), name
    for name in ("scene_2", "composite"):
        assert f"/{second['id']}/" in key_of(after[name]["output_url"]), name
    # The version lists the files it made itself; a new final video, poster and preview.
    assert sorted(o["kind"] for o in second["outputs"]) == ["final_video", "poster", "preview", "scene_video"]
    second_files = await outputs(second)
    assert second_files["scene_2"] != first_files["scene_2"]
    assert second_files["final"] != first_files["final"]
    assert second_files["scene_1"] == first_files["scene_1"]
    # The earlier version is in the history, every file of it the same bytes as before.
    both = await history(http, user, project["id"])
    assert list(both) == [second["id"], first["id"]]
    assert await outputs(both[first["id"]]) == first_files

    # New voiceover text makes the voiceover again too.
    third = await regenerated(http, user, project["id"], second["id"], 3, voiceover_text="Grab a mango one.")
    assert third["version"] == 3 and third["revises_id"] == second["id"]
    ran = {name for name, j in jobs_of(third).items() if j["attempts"] > 0}
    assert ran == {"scene_3", "voiceover", "composite"}
    assert key_of(jobs_of(third)["scene_2"]["output_url"]) == key_of(after["scene_2"]["output_url"])


async def test_versions_past_the_free_ones_are_charged_like_a_generation(http):
    user = await new_user(http)
    project = await ready_project(http, user, images=1)
    latest = await generate(http, user, project["id"])
    used = (await me(http, user))["free_videos_used"]
    for version in range(2, FREE_VERSIONS + 2):
        latest = await regenerated(
            http, user, project["id"], latest["id"], 1, on_screen_text=f"Take {version}"
        )
        assert latest["version"] == version
        charged = version > FREE_VERSIONS + 1
        assert (latest["charge"] is not None) == charged, latest
        assert (await me(http, user))["free_videos_used"] == used + charged


async def test_cancelling_a_version_leaves_the_files_it_reused(http):
    user = await new_user(http)
    long_scenes = [{"order": i, "description": f"scene {i}", "duration_s": 4} for i in range(1, 4)]
    project = await ready_project(http, user, images=1, scenes=long_scenes)
    first = await generate(http, user, project["id"])
    first_files = await outputs(first)

    reply = await regenerate(http, user, project["id"], first["id"], 2, on_screen_text="Again")
    assert reply.status_code == 202, reply.text
    reply = await http.post(f"/api/projects/{project['id']}/generation/cancel", headers=user["headers"])
    assert reply.status_code == 200, reply.text
    version = await ended_in_history(http, user, project["id"], reply.json()["id"])
    assert version["status"] == "cancelled"
    # What it borrowed is still there, byte for byte; the earlier version plays.
    assert await outputs((await history(http, user, project["id"]))[first["id"]]) == first_files


async def test_what_cannot_be_made_again_is_refused_clearly(http):
    user, stranger = await new_user(http), await new_user(http)
    project = await ready_project(http, user, images=1)
    first = await generate(http, user, project["id"])

    cases = [
        (user, project["id"], first["id"], 9, {}, 404),  # no scene 9
        (user, project["id"], str(uuid.uuid4()), 1, {}, 404),  # no such generation
        (stranger, project["id"], first["id"], 1, {}, 404),  # not theirs
        (user, project["id"], first["id"], 0, {}, 422),
        (user, project["id"], first["id"], 1, {"on_screen_text": "x" * 2001}, 422),
        (user, project["id"], first["id"], 1, {"description": "new"}, 422),  # not a field that changes
    ]
    for who, project_id, generation_id, n, body, status in cases:
        reply = await regenerate(http, who, project_id, generation_id, n, **body)
        assert_error_body(reply, status)
    # While a version runs, no other generation of the project starts, and a running one has no
    # scene to make again.
    reply = await regenerate(http, user, project["id"], first["id"], 1, on_screen_text="One")
    assert reply.status_code == 202, reply.text
    running = reply.json()["id"]
    assert_error_body(await regenerate(http, user, project["id"], first["id"], 2), 409)
    assert_error_body(await regenerate(http, user, project["id"], running, 1), 409)
    await wait_for(http, user, project["id"], TERMINAL)

    # The same Idempotency-Key gives the same version, made once.
    key = {"Idempotency-Key": f"again-{uuid.uuid4()}"}
    path = regenerate_path(project["id"], first["id"], 3)
    one = await http.post(path, json={}, headers=user["headers"] | key)
    two = await http.post(path, json={}, headers=user["headers"] | key)
    assert one.status_code == two.status_code == 202, (one.text, two.text)
    assert one.json()["id"] == two.json()["id"]
    await wait_for(http, user, project["id"], TERMINAL)
