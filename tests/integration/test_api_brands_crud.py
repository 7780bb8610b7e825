"""The brands API end to end, through the real gateway to accounts and media: creating, reading,
updating, deleting and listing brands, what every endpoint asks of the caller, and that another
user's brand does not exist. Files: test_api_brands_uploads.py (presigned) and test_api_brands_files.py
(multipart, removing them)."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support.api import new_brand
from tests.support.brands import (
    ask_upload,
    error_of,
    exists,
    file_bytes,
    presigned_upload,
    stored_keys,
    without_urls,
)

# --- create, read, update, delete -----------------------------------------------------------------


async def test_brand_lifecycle(http, owner):
    created = await http.post(
        "/api/brands",
        json={
            "title": "Acme Cola",
            "description": "Fizzy",
            "brand_guidelines": {"colors": ["#D62828"], "tone": "bold"},
        },
        headers=owner["headers"],
    )
    assert created.status_code == 201, created.text
    brand = created.json()
    assert brand["title"] == "Acme Cola"
    assert brand["description"] == "Fizzy"
    assert brand["brand_guidelines"] == {"colors": ["#D62828"], "tone": "bold"}
    assert brand["product_images"] == [] and brand["brand_assets"] == []
    uuid.UUID(brand["id"])

    fetched = await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])
    assert fetched.status_code == 200
    assert fetched.json() == brand

    # PATCH changes only what it is given.
    patched = await http.patch(
        f"/api/brands/{brand['id']}", json={"title": "Acme Zero"}, headers=owner["headers"]
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "Acme Zero"
    assert patched.json()["description"] == "Fizzy"
    assert patched.json()["brand_guidelines"] == {"colors": ["#D62828"], "tone": "bold"}
    patched = await http.patch(
        f"/api/brands/{brand['id']}",
        json={"description": "", "brand_guidelines": {"tone": "calm"}},
        headers=owner["headers"],
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["title"], patched.json()["description"]) == ("Acme Zero", "")
    assert patched.json()["brand_guidelines"] == {"tone": "calm"}
    assert patched.json()["updated_at"] >= brand["updated_at"]
    assert patched.json()["created_at"] == brand["created_at"]
    assert (await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])).json() == patched.json()

    deleted = await http.delete(f"/api/brands/{brand['id']}", headers=owner["headers"])
    assert deleted.status_code == 204
    assert deleted.content == b""
    for call in (
        http.get(f"/api/brands/{brand['id']}", headers=owner["headers"]),
        http.patch(f"/api/brands/{brand['id']}", json={"title": "x"}, headers=owner["headers"]),
        http.delete(f"/api/brands/{brand['id']}", headers=owner["headers"]),
    ):
        response = await call
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


async def test_create_defaults_and_limits_that_pass(http, owner):
    minimal = await http.post("/api/brands", json={"title": "x"}, headers=owner["headers"])
    assert minimal.status_code == 201, minimal.text
    assert (minimal.json()["description"], minimal.json()["brand_guidelines"]) == ("", {})

    # 64 KB of guidelines exactly: json.dumps({"text": s}) is len(s) + 12 bytes.
    largest = {
        "title": "é" * 200,
        "description": "d" * 5000,
        "brand_guidelines": {"text": "g" * (65536 - 12)},
    }
    assert len(json.dumps(largest["brand_guidelines"]).encode()) == 65536
    created = await http.post("/api/brands", json=largest, headers=owner["headers"])
    assert created.status_code == 201, created.text
    assert created.json()["title"] == "é" * 200
    assert created.json()["brand_guidelines"] == largest["brand_guidelines"]


BAD_BODIES = [
    pytest.param({}, "title", id="no-title"),
    pytest.param({"title": ""}, "title", id="empty-title"),
    pytest.param({"title": "t" * 201}, "title", id="title-201"),
    pytest.param({"title": None}, "title", id="null-title"),
    pytest.param({"title": 5}, "title", id="title-not-a-string"),
    pytest.param({"title": "ok", "description": "d" * 5001}, "description", id="description-5001"),
    pytest.param(
        {"title": "ok", "brand_guidelines": ["a", "list"]}, "brand_guidelines", id="guidelines-list"
    ),
    pytest.param({"title": "ok", "brand_guidelines": "text"}, "brand_guidelines", id="guidelines-string"),
    pytest.param(
        {"title": "ok", "brand_guidelines": {"text": "g" * (65536 - 11)}},
        "brand_guidelines",
        id="guidelines-64k+1",
    ),
    pytest.param({"title": "ok", "owner": "someone"}, "owner", id="unknown-field"),
    pytest.param({"title": "ok", "product_images": []}, "product_images", id="read-only-field"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
async def test_create_rejects_bad_bodies(http, owner, body, field):
    before = (await http.get("/api/brands", headers=owner["headers"])).json()["items"]
    response = await http.post("/api/brands", json=body, headers=owner["headers"])
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "validation_error"
    assert any(field in d["field"] for d in error["errors"]), error
    assert (await http.get("/api/brands", headers=owner["headers"])).json()["items"] == before


async def test_create_rejects_a_body_that_is_not_json(http, owner):
    response = await http.post(
        "/api/brands", content=b"title=x", headers={**owner["headers"], "Content-Type": "text/plain"}
    )
    assert response.status_code == 415  # a type the API does not read
    response = await http.post("/api/brands", content=b"title=x", headers=owner["headers"])
    assert response.status_code == 415  # no type at all
    response = await http.post(
        "/api/brands", content=b"{not json", headers={**owner["headers"], "Content-Type": "application/json"}
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [p for p in BAD_BODIES if p.id not in ("no-title", "null-title", "read-only-field")]
    + [pytest.param({"brand_guidelines": None, "bogus": 1}, "bogus", id="unknown-field-2")],
)
async def test_update_rejects_bad_bodies_and_changes_nothing(http, owner, brand, body, field):
    response = await http.patch(f"/api/brands/{brand['id']}", json=body, headers=owner["headers"])
    assert response.status_code == 422, response.text
    assert any(field in d["field"] for d in response.json()["errors"])
    assert (await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])).json() == brand


async def test_an_empty_update_changes_nothing(http, owner, brand):
    response = await http.patch(f"/api/brands/{brand['id']}", json={}, headers=owner["headers"])
    assert response.status_code == 200
    assert response.json()["title"] == brand["title"]
    assert response.json()["brand_guidelines"] == brand["brand_guidelines"]


# --- listing --------------------------------------------------------------------------------------


async def test_list_is_newest_first_and_pages_through_everything(http, owner, other):
    await new_brand(http, other["headers"])  # someone else's: never listed
    created = [(await new_brand(http, owner["headers"], title=f"brand {i}"))["id"] for i in range(25)]

    pages, cursor = [], None
    while True:
        params = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        response = await http.get("/api/brands", params=params, headers=owner["headers"])
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([b["id"] for b in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 5, "the cursor never ran out"
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [b for p in pages for b in p] == list(reversed(created))

    default = (await http.get("/api/brands", headers=owner["headers"])).json()
    assert [b["id"] for b in default["items"]] == list(reversed(created))[:20]
    everything = (await http.get("/api/brands", params={"limit": 100}, headers=owner["headers"])).json()
    assert [b["id"] for b in everything["items"]] == list(reversed(created))
    assert everything["next_cursor"] is None


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"limit": -1}, {"limit": "ten"}, {"cursor": "not-a-cursor"}]
)
async def test_list_rejects_bad_paging(http, owner, params):
    response = await http.get("/api/brands", params=params, headers=owner["headers"])
    assert response.status_code == 422, response.text
    assert response.json()["code"] in ("validation_error", "invalid_argument")


async def test_a_new_user_has_no_brands(http, other):
    response = await http.get("/api/brands", headers=other["headers"])
    assert response.json() == {"items": [], "next_cursor": None}


# --- auth and ids ---------------------------------------------------------------------------------


def every_endpoint(brand_id: str, upload_id: str = "x.y") -> list[tuple[str, str, dict]]:
    """(method, path, request kwargs) of every brands endpoint, on brand_id."""
    base = f"/api/brands/{brand_id}"
    upload = {"kind": "product_image", "filename": "a.png", "content_type": "image/png", "size": 10}
    png = {"file": ("a.png", file_bytes("image/png", 100), "image/png")}
    return [
        ("GET", base, {}),
        ("PATCH", base, {"json": {"title": "taken over"}}),
        ("DELETE", base, {}),
        ("POST", f"{base}/uploads", {"json": upload}),
        ("POST", f"{base}/uploads/confirm", {"json": {"upload_id": upload_id}}),
        ("POST", f"{base}/files", {"params": {"kind": "product_image"}, "files": png}),
        ("DELETE", f"{base}/product-images/abc-a.png", {}),
        ("DELETE", f"{base}/brand-assets/abc-a.pdf", {}),
    ]


@pytest.mark.parametrize(
    "authorization", [None, "Bearer not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer", "token-without-scheme"]
)
async def test_every_endpoint_needs_a_valid_bearer_token(http, owner, brand, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    calls = [("GET", "/api/brands", {}), ("POST", "/api/brands", {"json": {"title": "x"}})]
    for method, path, kwargs in calls + every_endpoint(brand["id"]):
        response = await http.request(method, path, headers=headers, **kwargs)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["code"] == "unauthenticated"
    assert without_urls((await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])).json()) == (
        without_urls(brand)
    )


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"])
async def test_an_id_that_is_not_a_uuid_is_422(http, owner, bad_id):
    for method, path, kwargs in every_endpoint(bad_id):
        response = await http.request(method, path, headers=owner["headers"], **kwargs)
        assert response.status_code == 422, (method, path, response.text)
        assert response.json()["code"] == "validation_error"


# --- ownership ------------------------------------------------------------------------------------


async def test_someone_elses_brand_is_404_like_a_missing_one_and_nothing_changes(
    http, owner, other, brand, media_stub
):
    # The owner's brand holds an image and an asset, and a ticket for a third upload.
    png, pdf = file_bytes("image/png"), file_bytes("application/pdf")
    await presigned_upload(http, owner, brand["id"], png)
    await presigned_upload(
        http, owner, brand["id"], pdf, kind="brand_asset", content_type="application/pdf", filename="book.pdf"
    )
    ticket = (await ask_upload(http, owner, brand["id"])).json()
    before = (await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])).json()
    image_name = before["product_images"][0]["key"].rsplit("/", 1)[-1]
    asset_name = before["brand_assets"][0]["key"].rsplit("/", 1)[-1]

    def calls(brand_id):
        endpoints = every_endpoint(brand_id, ticket["upload_id"])
        endpoints[-2] = ("DELETE", f"/api/brands/{brand_id}/product-images/{image_name}", {})
        endpoints[-1] = ("DELETE", f"/api/brands/{brand_id}/brand-assets/{asset_name}", {})
        return endpoints

    missing_id = str(uuid.uuid4())
    for (method, path, kwargs), (_, missing_path, _) in zip(
        calls(brand["id"]), calls(missing_id), strict=True
    ):
        response = await http.request(method, path, headers=other["headers"], **kwargs)
        missing = await http.request(method, missing_path, headers=other["headers"], **kwargs)
        assert response.status_code == 404, (method, path, response.text)
        assert error_of(response) == error_of(missing), (method, path)

    listed = (await http.get("/api/brands", headers=other["headers"])).json()
    assert brand["id"] not in [b["id"] for b in listed["items"]]

    after = (await http.get(f"/api/brands/{brand['id']}", headers=owner["headers"])).json()
    assert without_urls(after) == without_urls(before)
    assert after["title"] == brand["title"]
    assert await exists(media_stub, before["product_images"][0]["key"])
    assert await exists(media_stub, before["brand_assets"][0]["key"])
    assert await stored_keys(media_stub, f"product-images/{brand['id']}/") == [
        before["product_images"][0]["key"]
    ]
