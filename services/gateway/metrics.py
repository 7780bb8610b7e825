"""The gateway's Prometheus metrics: every request counted and timed by route template (never the
raw path, which would make a series per id), method and status class; served at /metrics on the
gateway's own port, without authentication and outside the OpenAPI schema (keep it off the public
ingress)."""

from __future__ import annotations

import time

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.metrics import LATENCY_BUCKETS

METRICS_PATH = "/metrics"
# Answered without a route: a 404, or before routing (a CORS preflight, a 429 shed, a 413, a 422 for
# JSON nested too deep).
UNMATCHED = "unmatched"

HTTP_REQUESTS = Counter(
    "zapcut_http_requests",
    "HTTP requests the gateway answered, by method, route template and status class (2xx ... 5xx; "
    "errors are 5xx, and 'disconnected' when the client left before an answer).",
    ["method", "route", "status_class"],
)
HTTP_SECONDS = Histogram(
    "zapcut_http_request_duration_seconds",
    "Time from a request's arrival to its answer's start, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)


class HttpMetricsMiddleware:
    """Outermost, so the status counted is the one the client got (including the last-resort 500)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    @staticmethod
    def route_template(scope: Scope) -> str:
        """The matched route's path template (/api/brands/{brand_id}): the path with each path
        parameter's value put back as its name. (FastAPI keeps a route included under a prefix
        without the prefix, so the route object alone does not have it.)"""
        if "endpoint" not in scope:
            return UNMATCHED
        names = {str(value): name for name, value in scope.get("path_params", {}).items()}
        if not names:
            return str(scope["path"])
        return "/".join(f"{{{names[part]}}}" if part in names else part for part in scope["path"].split("/"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None
        answered_after = 0.0

        async def send_recording_status(message: Message) -> None:
            nonlocal status, answered_after
            if message["type"] == "http.response.start":
                status = message["status"]
                answered_after = time.perf_counter() - started
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            route = self.route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, f"{status // 100}xx" if status else "disconnected").inc()
            if status is not None:
                HTTP_SECONDS.labels(method, route).observe(answered_after)


def add_metrics_route(app: FastAPI) -> None:
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    app.add_route(METRICS_PATH, metrics, include_in_schema=False)
