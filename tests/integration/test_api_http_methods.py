"""OPTIONS, HEAD and 405 as HTTP defines them (RFC 9110), on the real gateway; and the problem
document every error is, wherever it comes from (router, middleware, CORS)."""

from __future__ import annotations

from tests.support.api import assert_error_body


async def test_options_lists_every_method_of_the_path(http, owner):
    brands = await http.options("/api/brands")
    one = await http.options("/api/brands/0b6e4f2c-1c4e-4a7b-9f2e-3d1a5c7b9e01")
    me = await http.options("/api/auth/me")

    assert (brands.status_code, brands.headers["allow"]) == (204, "GET, HEAD, OPTIONS, POST")
    assert one.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH"
    assert me.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH"
    assert_error_body(await http.options("/api/nothing-here"), 404, "not_found")


async def test_a_method_the_path_lacks_is_405_naming_all_of_its_methods(http, owner):
    response = await http.put("/api/brands", json={}, headers=owner["headers"])

    assert_error_body(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"


async def test_head_is_get_without_the_body(http, owner):
    got = await http.get("/api/auth/me", headers=owner["headers"])
    head = await http.head("/api/auth/me", headers=owner["headers"])
    refused = await http.head("/api/auth/me")

    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == got.headers["content-length"]
    assert (refused.status_code, refused.headers["www-authenticate"]) == (401, "Bearer")


async def test_a_cors_preflight_still_answers_and_a_refused_one_is_a_problem(http):
    asked = {"Access-Control-Request-Method": "POST"}
    allowed = await http.options("/api/brands", headers=asked | {"Origin": "http://localhost:3000"})
    refused = await http.options("/api/brands", headers=asked | {"Origin": "https://elsewhere.example"})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert_error_body(refused, 400, "bad_request")
    assert "origin" in refused.json()["detail"]


async def test_a_body_neither_json_nor_multipart_is_415(http, owner):
    response = await http.post(
        "/api/brands", content=b"title=x", headers=owner["headers"] | {"Content-Type": "text/plain"}
    )

    assert_error_body(response, 415, "unsupported_media_type")


async def test_a_body_that_is_not_even_text_is_422_not_400(http, owner):
    response = await http.post(
        "/api/brands",
        content=b"\xff\xfe\x00",
        headers=owner["headers"] | {"Content-Type": "application/json"},
    )

    problem = assert_error_body(response, 422, "validation_error")
    assert problem["errors"][0]["field"].startswith("body")
