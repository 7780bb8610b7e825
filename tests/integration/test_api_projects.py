"""/api/projects through the real gateway and accounts service: projects, validation of each field,
pagination, and that another user's project does not exist. Their chat: test_api_chat.py; their
script: test_api_scripts.py."""

from __future__ import annotations

import uuid
from datetime import datetime

import grpc
import pytest

from tests.support.api import assert_error_body, assert_validation_error, new_brand, new_project, new_user
from tests.support.projects import (
    assert_not_found,
    owner_with_project,
    scene,
    walk_pages,
)
from zapcut.accounts.v1 import accounts_pb2

PROJECT_KEYS = {
    "id",
    "brand_id",
    "status",
    "ad_details",
    "zapcut_project_id",
    "settings",
    "created_at",
    "updated_at",
}
CLIENT_STATUSES = ("draft", "scripting")  # the pipeline's own: generating, completed, failed


# --- projects -----------------------------------------------------------------------------------


async def test_create_project(http):
    user = await new_user(http)
    brand = await new_brand(http, user["headers"])
    details = {
        "product": "Acme Cola",
        "audience": ["teens", "parents"],
        "length_s": 30,
        "nested": {"a": None},
    }

    response = await http.post(
        "/api/projects", json={"brand_id": brand["id"], "ad_details": details}, headers=user["headers"]
    )

    assert response.status_code == 201, response.text
    project = response.json()
    assert set(project) == PROJECT_KEYS
    assert uuid.UUID(project["id"])
    assert project["brand_id"] == brand["id"]
    assert project["status"] == "draft"
    assert project["ad_details"] == details
    assert project["zapcut_project_id"] is None
    assert datetime.fromisoformat(project["created_at"]) <= datetime.fromisoformat(project["updated_at"])

    fetched = await http.get(f"/api/projects/{project['id']}", headers=user["headers"])
    assert fetched.status_code == 200 and fetched.json() == project


async def test_create_project_defaults_ad_details_to_an_empty_object(http):
    user = await new_user(http)
    brand = await new_brand(http, user["headers"])

    project = await new_project(http, user["headers"], brand["id"])

    assert project["ad_details"] == {}


async def test_create_project_needs_one_of_the_callers_brands(http):
    owner = await new_user(http)
    brand = await new_brand(http, owner["headers"])
    stranger = await new_user(http)

    others = await http.post("/api/projects", json={"brand_id": brand["id"]}, headers=stranger["headers"])
    missing = await http.post(
        "/api/projects", json={"brand_id": str(uuid.uuid4())}, headers=stranger["headers"]
    )

    assert (assert_not_found(others)["detail"]) == assert_not_found(missing)["detail"]
    listed = await http.get("/api/projects", headers=owner["headers"])
    assert listed.json()["items"] == []


MISSING = object()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"brand_id": MISSING}, "body.brand_id"),
        ({"brand_id": "not-a-uuid"}, "body.brand_id"),
        ({"brand_id": 12}, "body.brand_id"),
        ({"ad_details": ["not", "an", "object"]}, "body.ad_details"),
        ({"ad_details": "{}"}, "body.ad_details"),
        ({"ad_details": {"blob": "x" * (64 * 1024)}}, "body.ad_details"),
        ({"status": "completed"}, "body.status"),
        ({"user_id": str(uuid.uuid4())}, "body.user_id"),
    ],
)
async def test_create_project_rejects_bad_fields(http, change, field):
    user = await new_user(http)
    brand = await new_brand(http, user["headers"])
    body = {k: v for k, v in ({"brand_id": brand["id"]} | change).items() if v is not MISSING}

    response = await http.post("/api/projects", json=body, headers=user["headers"])

    assert_validation_error(response, field)
    assert (await http.get("/api/projects", headers=user["headers"])).json()["items"] == []


async def test_ad_details_are_measured_as_utf8_json(http):
    user = await new_user(http)
    brand = await new_brand(http, user["headers"])
    # 60,000 bytes as UTF-8, though three times that with every "é" escaped as \u00e9.
    fits = {"text": "é" * 30_000}

    response = await http.post(
        "/api/projects", json={"brand_id": brand["id"], "ad_details": fits}, headers=user["headers"]
    )
    too_big = await http.post(
        "/api/projects",
        json={"brand_id": brand["id"], "ad_details": {"text": "é" * 33_000}},
        headers=user["headers"],
    )

    assert response.status_code == 201, response.text[:300]
    assert response.json()["ad_details"] == fits
    assert_validation_error(too_big, "body.ad_details")


async def test_list_projects_filters_by_brand_and_status(http):
    user = await new_user(http)
    brand_a = await new_brand(http, user["headers"])
    brand_b = await new_brand(http, user["headers"])
    a_draft = await new_project(http, user["headers"], brand_a["id"])
    a_done = await new_project(http, user["headers"], brand_a["id"])
    b_done = await new_project(http, user["headers"], brand_b["id"])
    for project in (a_done, b_done):
        response = await http.patch(
            f"/api/projects/{project['id']}", json={"status": "scripting"}, headers=user["headers"]
        )
        assert response.status_code == 200, response.text
    # Another user's projects never show up.
    stranger = await new_user(http)
    await new_project(http, stranger["headers"], (await new_brand(http, stranger["headers"]))["id"])

    async def ids(**params) -> list[str]:
        response = await http.get("/api/projects", params=params, headers=user["headers"])
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()["items"]]

    # Newest first.
    assert await ids() == [b_done["id"], a_done["id"], a_draft["id"]]
    assert await ids(brand_id=brand_a["id"]) == [a_done["id"], a_draft["id"]]
    assert await ids(status="scripting") == [b_done["id"], a_done["id"]]
    assert await ids(brand_id=brand_a["id"], status="draft") == [a_draft["id"]]
    assert await ids(status="failed") == []
    assert await ids(brand_id=str(uuid.uuid4())) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 101}, "query.limit"),
        ({"limit": 0}, "query.limit"),
        ({"limit": -1}, "query.limit"),
        ({"limit": "many"}, "query.limit"),
        ({"status": "archived"}, "query.status"),
        ({"brand_id": "not-a-uuid"}, "query.brand_id"),
        ({"cursor": "not-a-cursor-we-gave"}, None),
    ],
)
async def test_list_projects_rejects_bad_parameters(http, params, field):
    user = await new_user(http)

    response = await http.get("/api/projects", params=params, headers=user["headers"])

    assert_validation_error(response, field)


async def test_list_projects_pages_through_every_project_once(http):
    user = await new_user(http)
    brand = await new_brand(http, user["headers"])
    created = [(await new_project(http, user["headers"], brand["id"]))["id"] for _ in range(7)]

    pages = await walk_pages(http, "/api/projects", user["headers"], limit=3)

    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [p["id"] for page in pages for p in page]
    assert seen == list(reversed(created))
    assert len(set(seen)) == len(seen)
    # A limit of exactly the count ends on a page of its own, with no extra empty page after it.
    assert [len(page) for page in await walk_pages(http, "/api/projects", user["headers"], limit=7)] == [7]
    assert [len(p) for p in await walk_pages(http, "/api/projects", user["headers"], limit=100)] == [7]


async def test_update_project_status_and_details(http):
    user, project = await owner_with_project(http, product="Acme")
    path = f"/api/projects/{project['id']}"

    for status in reversed(CLIENT_STATUSES):
        response = await http.patch(path, json={"status": status}, headers=user["headers"])
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
        # A status change leaves the details alone.
        assert response.json()["ad_details"] == {"product": "Acme"}

    details = {"product": "Acme Zero", "tone": "playful", "blob": "x" * 60_000}
    response = await http.patch(
        path, json={"ad_details": details, "zapcut_project_id": "zc-123"}, headers=user["headers"]
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["status"], updated["ad_details"], updated["zapcut_project_id"]) == (
        "draft",
        details,
        "zc-123",
    )
    assert updated["created_at"] == project["created_at"]
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(project["updated_at"])
    assert (await http.get(path, headers=user["headers"])).json() == updated


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "archived"}, "body.status"),
        ({"status": "DRAFT"}, "body.status"),
        ({"status": "generating"}, "body.status"),
        ({"status": "completed"}, "body.status"),
        ({"status": "failed"}, "body.status"),
        ({"status": 1}, "body.status"),
        ({"ad_details": ["a"]}, "body.ad_details"),
        ({"ad_details": {"blob": "x" * (64 * 1024)}}, "body.ad_details"),
        ({"zapcut_project_id": "z" * 101}, "body.zapcut_project_id"),
        ({"brand_id": str(uuid.uuid4())}, "body.brand_id"),
        ({"user_id": str(uuid.uuid4())}, "body.user_id"),
    ],
)
async def test_update_project_rejects_bad_fields(http, body, field):
    user, project = await owner_with_project(http, product="Acme")

    response = await http.patch(f"/api/projects/{project['id']}", json=body, headers=user["headers"])

    assert_validation_error(response, field)
    assert (await http.get(f"/api/projects/{project['id']}", headers=user["headers"])).json() == project


async def test_the_pipelines_statuses_are_not_the_clients_to_set(http, db, accounts_stub):
    user, project = await owner_with_project(http)
    path = f"/api/projects/{project['id']}"

    refused = await http.patch(path, json={"status": "completed"}, headers=user["headers"])
    # The service refuses it too, whoever calls UpdateProject for the user.
    with pytest.raises(grpc.aio.AioRpcError) as direct:
        await accounts_stub.UpdateProject(
            accounts_pb2.UpdateProjectRequest(id=project["id"], status="completed"),
            metadata=(("x-user-id", user["id"]),),
        )
    # While a generation runs (the pipeline said so), the status stays the pipeline's.
    db.execute("UPDATE accounts.ad_projects SET status = 'generating' WHERE id = %s", (project["id"],))
    while_generating = await http.patch(path, json={"status": "scripting"}, headers=user["headers"])
    details_while_generating = await http.patch(
        path, json={"ad_details": {"tone": "calm"}}, headers=user["headers"]
    )

    assert_validation_error(refused, "body.status")
    assert direct.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert_error_body(while_generating, 409, "failed_precondition")
    assert details_while_generating.status_code == 200, details_while_generating.text
    assert details_while_generating.json()["status"] == "generating"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"ad_details": {"x": NaN}}', "ad_details"),
        ('{"ad_details": {"x": [Infinity]}}', "ad_details"),
        ('{"ad_details": {"x": -Infinity}}', "ad_details"),
        ('{"ad_details": {"x": 1e400}}', "ad_details"),
        ('{"ad_details": {"x": "\\ud800"}}', "ad_details"),
        ('{"ad_details": {"x": "a\\u0000b"}}', "ad_details"),
        ('{"ad_details": {"a\\u0000": 1}}', "ad_details"),
        ('{"ad_details": {"x": {"y": ["\\u0000"]}}}', "ad_details"),
        ('{"zapcut_project_id": "zc\\u0000"}', "zapcut_project_id"),
    ],
)
async def test_update_project_rejects_what_the_database_cannot_store(http, raw, field):
    """JSON the gateway parses but PostgreSQL refuses (NaN, NUL, unpaired surrogates) is a clear
    422 naming the field, not a 500."""
    user, project = await owner_with_project(http, product="Acme")

    response = await http.patch(
        f"/api/projects/{project['id']}",
        content=raw,
        headers=user["headers"] | {"Content-Type": "application/json"},
    )

    assert_error_body(response, 422)
    assert field in response.text
    assert (await http.get(f"/api/projects/{project['id']}", headers=user["headers"])).json() == project


async def test_delete_project(http):
    user, project = await owner_with_project(http)
    path = f"/api/projects/{project['id']}"
    await http.post(f"{path}/messages", json={"role": "user", "content": "hi"}, headers=user["headers"])
    await http.put(f"{path}/script", json={"scenes": [scene(1)]}, headers=user["headers"])

    response = await http.delete(path, headers=user["headers"])

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_not_found(await http.get(path, headers=user["headers"]))
    assert_not_found(await http.delete(path, headers=user["headers"]))
    assert_not_found(await http.get(f"{path}/messages", headers=user["headers"]))
    assert_not_found(await http.get(f"{path}/script", headers=user["headers"]))
    assert (await http.get("/api/projects", headers=user["headers"])).json()["items"] == []


async def test_unknown_project_is_404(http):
    user = await new_user(http)
    path = f"/api/projects/{uuid.uuid4()}"

    assert_not_found(await http.get(path, headers=user["headers"]))
    assert_not_found(await http.patch(path, json={"status": "draft"}, headers=user["headers"]))
    assert_not_found(await http.delete(path, headers=user["headers"]))


# --- ownership, ids and tokens ------------------------------------------------------------------


def project_calls(project_id: str) -> list[tuple[str, str, dict | None]]:
    base = f"/api/projects/{project_id}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"status": "scripting", "ad_details": {"hijacked": True}}),
        ("GET", f"{base}/messages", None),
        ("POST", f"{base}/messages", {"role": "user", "content": "hijacked"}),
        ("GET", f"{base}/script", None),
        ("PUT", f"{base}/script", {"storyline": "hijacked", "scenes": [scene(9)]}),
        ("POST", f"{base}/script/approve", None),
        ("POST", f"{base}/generate", {"aspect": "9:16"}),
        ("GET", f"{base}/generation", None),
        ("GET", f"{base}/generations", None),
        ("GET", f"{base}/generation/events", None),
        ("POST", f"{base}/generation/cancel", None),
        ("DELETE", base, None),
    ]


async def test_another_users_project_looks_like_no_project(http):
    owner, project = await owner_with_project(http, product="Acme")
    base = f"/api/projects/{project['id']}"
    await http.post(f"{base}/messages", json={"role": "user", "content": "mine"}, headers=owner["headers"])
    script = (await http.put(f"{base}/script", json={"scenes": [scene(1)]}, headers=owner["headers"])).json()
    stranger = await new_user(http)

    for (method, path, body), (_, missing_path, _) in zip(
        project_calls(project["id"]), project_calls(str(uuid.uuid4())), strict=True
    ):
        theirs = await http.request(method, path, json=body, headers=stranger["headers"])
        nobodys = await http.request(method, missing_path, json=body, headers=stranger["headers"])

        error = assert_not_found(theirs)
        assert (theirs.status_code, error["code"], error["detail"]) == (
            nobodys.status_code,
            nobodys.json()["code"],
            nobodys.json()["detail"],
        ), f"{method} {path}"

    assert (await http.get(base, headers=owner["headers"])).json() == project
    messages = (await http.get(f"{base}/messages", headers=owner["headers"])).json()["items"]
    assert [m["content"] for m in messages] == ["mine"]
    assert (await http.get(f"{base}/script", headers=owner["headers"])).json() == script
    listed = (await http.get("/api/projects", headers=stranger["headers"])).json()["items"]
    assert listed == []


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"])
async def test_a_project_id_that_is_not_a_uuid_is_422(http, bad_id):
    user = await new_user(http)

    for method, path, body in project_calls(bad_id):
        response = await http.request(method, path, json=body, headers=user["headers"])
        assert_validation_error(response, "path.project_id")


async def test_every_projects_endpoint_needs_a_token(http):
    owner, project = await owner_with_project(http)
    calls = [("GET", "/api/projects", None), ("POST", "/api/projects", {"brand_id": project["brand_id"]})]

    for method, path, body in calls + project_calls(project["id"]):
        response = await http.request(method, path, json=body)
        assert_error_body(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer"

    assert (await http.get(f"/api/projects/{project['id']}", headers=owner["headers"])).json() == project
