"""The gateway app: `uvicorn services.gateway.main:app` (wiring only).

Settings load when this module is imported, so a missing or malformed variable stops uvicorn with
one line naming it (a failure inside the lifespan would be taken for "lifespan unsupported").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from starlette.middleware import Middleware

from services.common.grpc_client import open_channel
from services.common.logging import configure_from_settings
from services.common.settings import load_settings, secret_value
from services.common.telemetry import instrument_fastapi, setup_tracing
from services.gateway.api import OPENAPI_TAGS, api_router
from services.gateway.auth_cache import AuthCache, watch_revocations
from services.gateway.clients import open_service_clients
from services.gateway.config import Settings
from services.gateway.docs import add_docs_routes
from services.gateway.errors import install_error_handlers
from services.gateway.metrics import METRICS_PATH, HttpMetricsMiddleware, add_metrics_route
from services.gateway.middleware import (
    REQUEST_ID_HEADER,
    BodyLimitMiddleware,
    BodyTypeMiddleware,
    JsonDepthMiddleware,
    MethodsMiddleware,
    OverloadLimitMiddleware,
    ProblemCORSMiddleware,
    RequestContextMiddleware,
)
from services.gateway.openapi import install_contract
from zapcut.accounts.v1 import accounts_pb2_grpc

SERVICE = "gateway"
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def _version() -> str:
    try:
        return version("zapcut-adgen")
    except PackageNotFoundError:
        return "0.0.0"


def create_app(settings: Settings) -> FastAPI:
    setup_tracing(SERVICE)  # before the lifespan opens the gRPC channels it instruments

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One channel per service for the life of the process; gRPC reconnects it when a service restarts.
        app.state.clients = open_service_clients(settings)
        app.state.auth_cache = AuthCache(settings.auth_cache_ttl_s, settings.auth_cache_max_entries)
        watcher = None
        if settings.auth_cache_ttl_s > 0:
            # A channel, and connections (a local subchannel pool), of its own: gRPC channels to one
            # address share their connections, and retrying the stream while accounts is down would
            # keep the requests' connection in reconnect backoff, failing the first requests once
            # accounts is back.
            revocations = open_channel(
                settings.accounts_addr,
                secret_value(settings.internal_token),
                extra_options=[("grpc.use_local_subchannel_pool", 1)],
            )
            stub = accounts_pb2_grpc.AccountsStub(revocations)
            watcher = asyncio.create_task(watch_revocations(stub, app.state.auth_cache))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
                await revocations.close()
            await app.state.clients.close()

    app = FastAPI(
        title="Zapcut AdGen API",
        version=_version(),
        description="Brands, ad projects and AI video generation for Zapcut.",
        openapi_tags=OPENAPI_TAGS,
        # Served by add_docs_routes from files in a wheel, not from a CDN.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # Outermost first: every response, including CORS rejections, 429s and 413s, gets a request
        # id and a log line; CORS headers reach the error responses the browser must be able to read.
        middleware=[
            Middleware(HttpMetricsMiddleware),
            Middleware(RequestContextMiddleware),
            Middleware(
                ProblemCORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_credentials=True,
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=[REQUEST_ID_HEADER],
                max_age=600,
            ),
            Middleware(
                OverloadLimitMiddleware,
                max_concurrent=settings.max_concurrent_requests,
                retry_after_s=settings.overload_retry_after_s,
                exempt_paths=("/api/health", METRICS_PATH),
            ),
            Middleware(
                BodyLimitMiddleware,
                max_body_bytes=settings.max_body_bytes,
                # The streamed upload checks each file's own limit; the body may carry form overhead.
                limits_by_path={
                    r"/api/brands/[^/]+/files": max(
                        settings.max_brand_asset_bytes, settings.max_product_image_bytes
                    )
                    + MULTIPART_OVERHEAD_BYTES,
                    r"/api/webhooks/replicate": settings.replicate_webhook_max_bytes,
                },
            ),
            Middleware(BodyTypeMiddleware),
            Middleware(JsonDepthMiddleware, max_depth=settings.max_json_depth),
            Middleware(MethodsMiddleware),
        ],
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(api_router)
    add_metrics_route(app)
    add_docs_routes(app)
    install_contract(app)  # after every router: it declares and guards the routes it finds
    instrument_fastapi(app)
    return app


settings = load_settings(Settings)
configure_from_settings(SERVICE, settings)
app = create_app(settings)
