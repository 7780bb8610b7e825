"""/openapi.json as the contract: what every operation needs and can answer, derived in one place from
the routes themselves, so a route added later is declared the same way without a table to update.

From each route's dependencies and inputs (install_contract, run once when the app is built):
- it depends on the current caller: `security: [{bearerAuth: []}]` and 401; otherwise `security: []`;
- it has path parameters: 404 (unknown ids and other users' records look the same);
- it has inputs, or a method that carries a body: 422 (the JSON depth check applies to every body);
- it has a request body: 413 and 415;
- every operation: 429 (the overload limiter) and 503 (a service or its database down);
- whatever the route declares itself (`responses={402: ..., 409: ...}`).
Every error response is the one Problem schema (application/problem+json) with an example. An
operation's id is its endpoint's name in camelCase (`list_brands` -> `listBrands`) unless the route
gives one, and a create operation (POST answering 201 with an `id`) links to the operations on the
record's own path, which is what the fuzzer's stateful phase follows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from services.gateway.auth import current_caller
from services.gateway.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPES, code_for_status
from services.gateway.schemas.problems import Problem

BEARER_SCHEME = "bearerAuth"
PROBLEM_REF = "#/components/schemas/Problem"
BODY_METHODS = {"POST", "PUT", "PATCH"}

# The problem kind each declared status is shown with (its example and description).
_EXAMPLE_CODE = {409: "failed_precondition", 429: "too_many_requests", 503: "unavailable"}
_HEADERS = {
    401: {"WWW-Authenticate": "Always `Bearer`."},
    429: {"Retry-After": "Seconds to wait before retrying."},
    503: {"Retry-After": "Seconds to wait before retrying."},
}


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every operation of the app as FastAPI resolved it (full path, merged responses), routers
    included at any depth."""
    return [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.include_in_schema
    ]


def operation_id(route: RouteContext) -> str:
    """`list_brands` -> `listBrands`: what a client generator turns into a method name."""
    if route.operation_id:
        return str(route.operation_id)
    first, *rest = str(route.name).split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _path(route: RouteContext) -> str:
    return str(route.path_format)


def _endpoint(route: RouteContext) -> APIRoute:
    endpoint = route.original_route
    assert isinstance(endpoint, APIRoute)
    return endpoint


def needs_caller(route: RouteContext) -> bool:
    return any(d.call is current_caller for d in _dependencies(_endpoint(route).dependant))


def _flat_params(route: RouteContext, kind: str) -> list[Any]:
    dependant = _endpoint(route).dependant
    found = list(getattr(dependant, kind))
    for sub in _dependencies(dependant):
        found += getattr(sub, kind)
    return found


def error_statuses(route: RouteContext, method: str) -> set[int]:
    statuses = {429, 503}
    if needs_caller(route):
        statuses.add(401)
    if _flat_params(route, "path_params"):
        statuses.add(404)
    has_body = _endpoint(route).body_field is not None or "requestBody" in (route.openapi_extra or {})
    if (
        has_body
        or method in BODY_METHODS
        or any(
            _flat_params(route, kind)
            for kind in ("path_params", "query_params", "header_params", "cookie_params")
        )
    ):
        statuses.add(422)
    if has_body:
        statuses |= {413, 415}
    return statuses | {int(s) for s in route.responses if str(s).isdigit() and int(s) >= 400}


def problem_example(status: int, path: str) -> dict[str, Any]:
    code = _EXAMPLE_CODE.get(status, code_for_status(status))
    title, _ = PROBLEM_TYPES.get(code, (code, ""))
    example: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": {
            401: "missing, expired or revoked token",
            402: "no free video or credit left",
            403: "the current password is wrong",
            404: "not found",
            409: "a generation is already running for this project",
            413: "request body is larger than 1048576 bytes",
            415: "send the body as application/json",
            422: "request validation failed",
            429: "the server is busy; retry shortly",
            503: "accounts service unavailable",
        }.get(status, title.lower()),
        "instance": path,
        "code": code,
        "request_id": "1f0c9a7e5b2d4c3a8e6f0b1d2c3a4e5f",
    }
    if status == 422:
        example["errors"] = [{"field": "body.name", "message": "String should have at least 1 character"}]
    if status == 503:
        example["service"] = "accounts"
    return example


def _problem_response(status: int, path: str, description: str | None) -> dict[str, Any]:
    code = _EXAMPLE_CODE.get(status, code_for_status(status))
    response: dict[str, Any] = {
        "description": description or PROBLEM_TYPES.get(code, (code, code))[1],
        "content": {
            PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}, "example": problem_example(status, path)}
        },
    }
    if status in _HEADERS:
        response["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in _HEADERS[status].items()
        }
    return response


def _declared_model(route: RouteContext, status: int) -> bool:
    """Whether the route gives this error status a body of its own (health's 503 is a health report)."""
    declared = route.responses.get(status) or route.responses.get(str(status)) or {}
    return "model" in declared


def _declare(route: RouteContext, method: str, operation: dict[str, Any]) -> None:
    operation["operationId"] = operation_id(route)
    operation["security"] = [{BEARER_SCHEME: []}] if needs_caller(route) else []
    responses = operation.setdefault("responses", {})
    for status in sorted(error_statuses(route, method)):
        if _declared_model(route, status):
            continue
        given = responses.get(str(status), {})
        description = given.get("description") if status != 422 else None
        responses[str(status)] = _problem_response(status, _path(route), description)


def _link_creations(paths: dict[str, Any], routes: list[tuple[RouteContext, str]]) -> None:
    """A create operation links to the operations on the record it made (its id as the path
    parameter after the create operation's path)."""
    for route, method in routes:
        success = paths[_path(route)][method.lower()]["responses"].get("201")
        if method != "POST" or success is None:
            continue
        # The record itself (get, update, delete); what lives under it may need more than the
        # record to exist (a brand's LoRA model), so no link promises it.
        child = re.compile(re.escape(_path(route)) + r"/\{(\w+)\}$")
        links = {}
        for other, _ in routes:
            found = child.match(_path(other))
            if found:
                links[operation_id(other)] = {
                    "operationId": operation_id(other),
                    "parameters": {found.group(1): "$response.body#/id"},
                }
        if links:
            success["links"] = links


def _page_examples(schemas: dict[str, Any]) -> None:
    """A page's example is its item's example in `items` (a Page[...] is generic, so its model has
    none of its own)."""
    for name, schema in schemas.items():
        item = schema.get("properties", {}).get("items", {}).get("items", {})
        if not name.startswith("Page_") or "$ref" not in item or "examples" in schema:
            continue
        item_examples = schemas[item["$ref"].rsplit("/", 1)[1]].get("examples", [])
        schema["examples"] = [{"items": item_examples[:1], "next_cursor": "WyIyMDI2LTEyLTAyVDEwOjAwOjAwWiJd"}]


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    _page_examples(schemas)
    components["securitySchemes"] = {
        BEARER_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "The `access_token` of POST /api/auth/login: `Authorization: Bearer <token>`.",
        }
    }
    routes = [(route, method) for route in api_routes(app) for method in sorted(route.methods or ())]
    paths = schema.get("paths", {})
    for route, method in routes:
        _declare(route, method, paths[_path(route)][method.lower()])
    _link_creations(paths, routes)
    ids = [operation_id(route) for route, _ in routes]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise RuntimeError(f"operation ids used twice: {sorted(duplicates)}")
    app.openapi_schema = schema
    return schema


def install_contract(app: FastAPI) -> None:
    """Run once, after every router is included."""
    openapi: Callable[[], dict[str, Any]] = lambda: build_openapi(app)  # noqa: E731
    app.openapi = openapi  # type: ignore[method-assign]
