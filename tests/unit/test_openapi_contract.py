"""/openapi.json as the contract (services/gateway/openapi.py), read from the app itself: every
operation declares its security, its error statuses with the one Problem schema, and an operationId;
no stack needed."""

from __future__ import annotations

import importlib
import json
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

# Operations anyone may call: the health checks, sign-up, login, and Replicate's webhook (which
# proves itself by its signature).
PUBLIC = {
    ("get", "/api/health"),
    ("get", "/api/health/{service}"),
    ("post", "/api/auth/signup"),
    ("post", "/api/auth/login"),
    ("post", "/api/webhooks/replicate"),
    ("get", "/api/voices/{voice_id}/sample"),  # played by an <audio> element, which sends no token
}
# Health answers 503 with its own report (which part is down), not a problem document.
OWN_ERROR_BODIES = {("/api/health", "503"), ("/api/health/{service}", "503")}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    # The gateway's module builds its app from the environment when imported; DEBUG allows the
    # development secrets.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DEBUG", "true")
        return importlib.import_module("services.gateway.main").app


@pytest.fixture(scope="module")
def document(app) -> dict:
    return app.openapi()


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_operation_has_a_camel_case_unique_operation_id(document):
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", i) for i in ids), ids
    assert len(ids) == len(set(ids))
    assert {"listBrands", "createBrand", "getBrand", "listGenerations", "logIn"} <= set(ids)


def test_every_operation_but_the_public_ones_needs_the_bearer_token(document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for path, method, op in operations(document):
        if (method, path) in PUBLIC:
            assert op["security"] == [], (path, method)
        else:
            assert op["security"] == [{"bearerAuth": []}], (path, method)
            assert "401" in op["responses"], (path, method)


def test_every_operation_declares_its_error_statuses(document):
    for path, method, op in operations(document):
        statuses = set(op["responses"])
        assert {"429", "503"} <= statuses, (path, method)
        if "{" in path:
            assert "404" in statuses, (path, method)
        if "requestBody" in op:
            assert {"413", "415", "422"} <= statuses, (path, method)
        if op.get("parameters"):
            assert "422" in statuses, (path, method)


def test_every_error_response_is_a_problem_with_an_example(document):
    for path, method, op in operations(document):
        for status, response in op["responses"].items():
            if int(status) < 400 or (path, status) in OWN_ERROR_BODIES:
                continue
            assert list(response["content"]) == ["application/problem+json"], (path, method, status)
            media = response["content"]["application/problem+json"]
            assert media["schema"] == PROBLEM, (path, method, status)
            assert media["example"]["status"] == int(status)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance"} <= set(problem["required"])
    assert problem["examples"]


def test_every_list_is_a_page(document):
    for path, method, op in operations(document):
        if method == "get" and op["operationId"].startswith("list"):
            names = {p["name"] for p in op.get("parameters", [])}
            assert {"limit", "cursor"} <= names, path
            schema = op["responses"]["200"]["content"]["application/json"]["schema"]
            page = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
            assert set(page["properties"]) == {"items", "next_cursor"}, path


def test_a_create_operation_links_to_the_record_it_made(document):
    links = document["paths"]["/api/brands"]["post"]["responses"]["201"]["links"]
    assert set(links) == {"getBrand", "updateBrand", "deleteBrand"}
    assert links["getBrand"]["parameters"] == {"brand_id": "$response.body#/id"}


def test_docs_and_redoc_load_only_their_own_assets(app):
    with TestClient(app) as client:
        for page in ("/docs", "/redoc"):
            html = client.get(page).text
            assert not re.search(r"""(?:src|href)=["']https?://""", html), page
            assets = re.findall(r"""(?:src|href)=["'](/[^"']+)["']""", html)
            assert assets, page
            for asset in assets:
                response = client.get(asset)
                assert response.status_code == 200, asset
                expected = "text/css" if asset.endswith(".css") else "javascript"
                if asset.endswith(".png"):
                    expected = "image/png"
                assert expected in response.headers["content-type"], asset
            assert "/openapi.json" in html
        assert client.get("/problems/not_found").status_code == 200
        assert client.get("/problems/nothing").headers["content-type"] == "application/problem+json"


def test_every_bound_is_a_json_schema_keyword(document):
    # pydantic writes a bound it cannot place as its own name (`ge`, `le`), which no validator or
    # client generator reads: the field is then unbounded in the contract.
    text = json.dumps(document["components"]["schemas"])
    assert not re.findall(r'"(ge|le|gt|lt)":', text)


def test_every_schema_has_a_valid_example(document):
    schemas = document["components"]["schemas"]
    missing = [name for name, schema in schemas.items() if not schema.get("examples")]
    assert missing == []


def test_every_model_example_validates_against_its_model():
    from pydantic import BaseModel

    from services.gateway.api.routes import health, lora, replicate_webhooks
    from services.gateway.schemas import auth, brands, credits, generations, problems, projects, webhooks

    checked = 0
    modules = (
        auth,
        brands,
        generations,
        projects,
        problems,
        credits,
        webhooks,
        health,
        lora,
        replicate_webhooks,
    )
    for module in modules:
        for model in vars(module).values():
            if (
                isinstance(model, type)
                and issubclass(model, BaseModel)
                and model.__module__ == module.__name__
            ):
                for example in (model.model_config.get("json_schema_extra") or {}).get("examples", []):
                    model.model_validate(example)
                    checked += 1
    assert checked >= 30
