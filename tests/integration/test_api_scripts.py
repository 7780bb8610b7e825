"""A project's script through the real gateway and accounts service: written, read, approved and
rewritten, and validation of its scenes."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support.api import assert_error_body, assert_validation_error
from tests.support.projects import XSS, assert_not_found, owner_with_project, scene


async def test_script_put_get_approve_and_change(http):
    user, project = await owner_with_project(http)
    path = f"/api/projects/{project['id']}/script"
    assert_not_found(await http.get(path, headers=user["headers"]))
    scenes = [
        scene(2, duration_s=60, voiceover_text=XSS),
        scene(1, duration_s=1, on_screen_text="50% off!"),
        scene(3, duration_s=2.5, voiceover_text="", on_screen_text=None),
    ]

    response = await http.put(
        path, json={"storyline": "A day at the beach", "scenes": scenes}, headers=user["headers"]
    )

    assert response.status_code == 200, response.text
    script = response.json()
    assert set(script) == {"id", "storyline", "scenes", "approved_at", "created_at", "updated_at"}
    assert script["storyline"] == "A day at the beach"
    assert script["approved_at"] is None
    # Scenes come back in order, with the optional texts as given (an absent one is null).
    assert script["scenes"] == [
        {
            "order": 1,
            "description": "Scene 1",
            "duration_s": 1,
            "voiceover_text": None,
            "on_screen_text": "50% off!",
        },
        {
            "order": 2,
            "description": "Scene 2",
            "duration_s": 60,
            "voiceover_text": XSS,
            "on_screen_text": None,
        },
        {
            "order": 3,
            "description": "Scene 3",
            "duration_s": 2.5,
            "voiceover_text": "",
            "on_screen_text": None,
        },
    ]
    assert (await http.get(path, headers=user["headers"])).json() == script

    approved = await http.post(f"{path}/approve", headers=user["headers"])

    assert approved.status_code == 200, approved.text
    approved_at = approved.json()["approved_at"]
    assert approved_at is not None
    assert datetime.fromisoformat(approved_at) >= datetime.fromisoformat(script["created_at"])
    assert (await http.get(path, headers=user["headers"])).json()["approved_at"] == approved_at
    # Approving again keeps the first approval.
    assert (await http.post(f"{path}/approve", headers=user["headers"])).json()["approved_at"] == approved_at

    changed = await http.put(
        path, json={"storyline": "A day in the city", "scenes": [scene(1)]}, headers=user["headers"]
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["id"] == script["id"]
    assert changed.json()["approved_at"] is None
    assert changed.json()["storyline"] == "A day in the city"
    assert (await http.get(path, headers=user["headers"])).json() == changed.json()


async def test_script_takes_up_to_twelve_scenes(http):
    user, project = await owner_with_project(http)

    response = await http.put(
        f"/api/projects/{project['id']}/script",
        json={"scenes": [scene(n) for n in range(12)]},
        headers=user["headers"],
    )

    assert response.status_code == 200, response.text
    assert [s["order"] for s in response.json()["scenes"]] == list(range(12))
    assert response.json()["storyline"] == ""


async def test_approving_before_there_is_a_script_is_refused(http):
    user, project = await owner_with_project(http)

    response = await http.post(f"/api/projects/{project['id']}/script/approve", headers=user["headers"])

    assert_error_body(response, 409)
    assert_not_found(await http.get(f"/api/projects/{project['id']}/script", headers=user["headers"]))


@pytest.mark.parametrize(
    ("scenes", "field"),
    [
        ([], "body.scenes"),
        ([scene(n) for n in range(13)], "body.scenes"),
        ([scene(1), scene(2), scene(1)], "body.scenes"),
        ([scene(1, duration_s=0)], "body.scenes.0.duration_s"),
        ([scene(1, duration_s=61)], "body.scenes.0.duration_s"),
        ([scene(1, duration_s=60.01)], "body.scenes.0.duration_s"),
        ([scene(1, duration_s="long")], "body.scenes.0.duration_s"),
        ([scene(1, description="")], "body.scenes.0.description"),
        ([{"order": 1, "duration_s": 5}], "body.scenes.0.description"),
        ([{"description": "no order", "duration_s": 5}], "body.scenes.0.order"),
        ([scene(-1)], "body.scenes.0.order"),
        ([scene(1, camera="drone")], "body.scenes.0.camera"),
        ("not a list", "body.scenes"),
        (None, "body.scenes"),
    ],
)
async def test_put_script_rejects_bad_scenes(http, scenes, field):
    user, project = await owner_with_project(http)
    path = f"/api/projects/{project['id']}/script"

    response = await http.put(path, json={"storyline": "s", "scenes": scenes}, headers=user["headers"])

    assert_validation_error(response, field)
    assert_not_found(await http.get(path, headers=user["headers"]))


async def test_put_script_rejects_a_missing_scenes_list_and_unknown_fields(http):
    user, project = await owner_with_project(http)
    path = f"/api/projects/{project['id']}/script"

    assert_validation_error(
        await http.put(path, json={"storyline": "s"}, headers=user["headers"]), "body.scenes"
    )
    assert_validation_error(
        await http.put(
            path, json={"scenes": [scene(1)], "approved_at": "2020-01-01T00:00:00Z"}, headers=user["headers"]
        ),
        "body.approved_at",
    )
    assert_validation_error(
        await http.put(path, json={"scenes": [scene(1)], "storyline": "s" * 10_001}, headers=user["headers"]),
        "body.storyline",
    )


async def test_a_rejected_change_keeps_the_approved_script(http):
    user, project = await owner_with_project(http)
    path = f"/api/projects/{project['id']}/script"
    await http.put(path, json={"scenes": [scene(1)]}, headers=user["headers"])
    approved = (await http.post(f"{path}/approve", headers=user["headers"])).json()

    bad = await http.put(path, json={"scenes": [scene(1, duration_s=61)]}, headers=user["headers"])

    assert_validation_error(bad)
    assert (await http.get(path, headers=user["headers"])).json() == approved
