"""/docs (Swagger UI), /redoc and /problems/{code}, served by the gateway with no internet: the
JavaScript and CSS come from the fastapi-offline wheel, never from a CDN."""

from __future__ import annotations

import html
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

from services.gateway.errors import PROBLEM_TYPE_PREFIX, PROBLEM_TYPES

ASSETS_PATH = "/docs/assets"
_ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
# The problem pages say which statuses each kind comes with.
_STATUSES = {
    "bad_request": "400",
    "unauthenticated": "401",
    "payment_required": "402",
    "permission_denied": "403",
    "not_found": "404",
    "method_not_allowed": "405",
    "conflict": "409",
    "already_exists": "409",
    "failed_precondition": "409",
    "payload_too_large": "413",
    "unsupported_media_type": "415",
    "validation_error": "422",
    "invalid_argument": "422",
    "too_many_requests": "429",
    "resource_exhausted": "429",
    "internal_error": "500",
    "unavailable": "503",
    "deadline_exceeded": "503",
    "cancelled": "503",
}


def add_docs_routes(app: FastAPI) -> None:
    title = app.title
    openapi_url = app.openapi_url or "/openapi.json"

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )

    async def asset(name: str) -> FileResponse:
        if name not in _ASSETS:
            raise HTTPException(404, "no such asset")
        # A day: the files change only with the package's version.
        return FileResponse(
            _ASSETS_DIR / name, media_type=_ASSETS[name], headers={"Cache-Control": "public, max-age=86400"}
        )

    async def problem_index() -> HTMLResponse:
        rows = "".join(
            f'<li><a href="{PROBLEM_TYPE_PREFIX}{code}">{html.escape(title)}</a> ({_STATUSES[code]}, '
            f"<code>{code}</code>)</li>"
            for code, (title, _) in PROBLEM_TYPES.items()
        )
        return HTMLResponse(
            _page("Problem types", f"<p>The <code>type</code> of every error.</p><ul>{rows}</ul>")
        )

    async def problem_page(code: str) -> HTMLResponse:
        if code not in PROBLEM_TYPES:
            raise HTTPException(404, "no such problem type")
        title, description = PROBLEM_TYPES[code]
        body = (
            f"<p>HTTP {_STATUSES[code]}, <code>code: {code}</code></p><p>{html.escape(description)}</p>"
            f'<p><a href="{PROBLEM_TYPE_PREFIX.rstrip("/")}">Every problem type</a></p>'
        )
        return HTMLResponse(_page(title, body))

    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs/oauth2-redirect", swagger_ui_redirect, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
    app.add_api_route(ASSETS_PATH + "/{name}", asset, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        PROBLEM_TYPE_PREFIX.rstrip("/"), problem_index, methods=["GET"], include_in_schema=False
    )
    app.add_api_route(PROBLEM_TYPE_PREFIX + "{code}", problem_page, methods=["GET"], include_in_schema=False)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
