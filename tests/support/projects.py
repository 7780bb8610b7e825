"""The projects API as tests use it: a fresh owner with a project, scenes, paging, and the answers
expected of it."""

from __future__ import annotations

from tests.support.api import assert_error_body, new_brand, new_user

XSS = "<script>alert(1)</script>"


def assert_not_found(response) -> dict:
    return assert_error_body(response, 404, "not_found")


def scene(order: int, **extra) -> dict:
    return {"order": order, "description": f"Scene {order}", "duration_s": 5} | extra


async def owner_with_project(http, **ad_details) -> tuple[dict, dict]:
    user = await new_user(http)
    brand = await new_brand(http, user["headers"])
    response = await http.post(
        "/api/projects", json={"brand_id": brand["id"], "ad_details": ad_details}, headers=user["headers"]
    )
    assert response.status_code == 201, response.text
    return user, response.json()


async def walk_pages(http, path: str, headers: dict, limit: int, **params) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        query = {"limit": limit, **params} | ({"cursor": cursor} if cursor else {})
        response = await http.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "pagination does not end"
