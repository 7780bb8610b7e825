"""GET /api/projects/{id}/generations is paged like every list: {items, next_cursor}, newest first,
keyed on the rows so a generation started meanwhile never repeats or skips one."""

from __future__ import annotations

import uuid

from tests.support.api import assert_error_body, new_brand, new_project


def insert_generations(db, project: dict, user: dict, ages_s: list[int]) -> list[str]:
    """Ended generations (no steps), `ages_s` seconds old, written as jobs writes them."""
    ids = []
    for age in ages_s:
        (generation_id,) = db.execute(
            "INSERT INTO jobs.generations (ad_project_id, user_id, status, aspect, resolution, provider,"
            " created_at) VALUES (%s, %s, 'failed', '9:16', 1080, 'local', now() - %s * interval '1 second')"
            " RETURNING id",
            (project["id"], user["id"], age),
        ).fetchone()
        ids.append(str(generation_id))
    return ids


async def pages(http, user: dict, project: dict, limit: int, cursor: str | None = None):
    params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
    response = await http.get(
        f"/api/projects/{project['id']}/generations", params=params, headers=user["headers"]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "next_cursor"}
    return [g["id"] for g in body["items"]], body["next_cursor"]


async def test_generations_page_newest_first_and_stay_stable_under_inserts(http, db, owner):
    project = await new_project(http, owner["headers"], (await new_brand(http, owner["headers"]))["id"])
    oldest_first = insert_generations(db, project, owner, [50, 40, 30, 20, 10])

    first, cursor = await pages(http, owner, project, 2)
    assert first == oldest_first[::-1][:2]
    # A generation started while the client pages does not shift the pages after the first.
    insert_generations(db, project, owner, [0])
    second, cursor = await pages(http, owner, project, 2, cursor)
    third, last = await pages(http, owner, project, 2, cursor)

    assert first + second + third == oldest_first[::-1]
    assert last is None
    everything, _ = await pages(http, owner, project, 100)
    assert len(everything) == 6


async def test_a_cursor_the_api_did_not_hand_out_is_422_and_another_users_project_404(http, owner, other):
    project = await new_project(http, owner["headers"], (await new_brand(http, owner["headers"]))["id"])
    path = f"/api/projects/{project['id']}/generations"

    assert_error_body(await http.get(path, params={"cursor": "not-a-cursor"}, headers=owner["headers"]), 422)
    assert_error_body(await http.get(path, params={"limit": 0}, headers=owner["headers"]), 422)
    assert_error_body(await http.get(path, headers=other["headers"]), 404, "not_found")
    missing = f"/api/projects/{uuid.uuid4()}/generations"
    assert_error_body(await http.get(missing, headers=owner["headers"]), 404, "not_found")
