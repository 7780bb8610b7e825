"""Prometheus metrics (prometheus-client): the families every service shares, the collectors read at
scrape time, and the HTTP server that serves them on METRICS_PORT.

The gateway serves its metrics on its own port at /metrics (services.gateway.metrics); each gRPC
service and each worker on METRICS_PORT (0: no server, the default outside Kubernetes and devstack).
An RQ worker forks a work horse per job, so the worker runs prometheus-client's multiprocess mode
(services.jobs.worker.metrics_dir): every process writes its samples to files in one directory,
which the worker's server adds up at scrape time.

The database's collectors (pool in use, outbox lag) are in services.common.db_metrics, so that the
gateway, which has no database, does not load SQLAlchemy. Families of a single service live beside
the code that records them (jobs and renders in services.jobs, Argon2 slots in
services.accounts.passwords, HTTP in services.gateway.metrics); all are listed in
docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    MethodHandler = grpc.RpcMethodHandler[Any, Any]
    Context = grpc.aio.ServicerContext[Any, Any]

log = logging.getLogger(__name__)

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Latencies from a cached read (~1 ms) to a slow upload (tens of seconds).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# How long a scrape waits for a value read from Postgres or Redis before leaving it out.
SCRAPE_QUERY_TIMEOUT_S = 2.0

GRPC_CALLS = Counter(
    "zapcut_grpc_server_handled",
    "gRPC calls this server finished, by full method name and status code.",
    ["method", "code"],
)
GRPC_SECONDS = Histogram(
    "zapcut_grpc_server_handling_seconds",
    "Time from a gRPC call's arrival to its last response, by full method name.",
    ["method"],
    buckets=LATENCY_BUCKETS,
)


def serve_metrics(port: int, host: str) -> None:
    """Serve this process's metrics over HTTP on host:port (any path), in a thread; nothing when
    port is 0. In multiprocess mode (a worker), the samples of every process writing into the
    directory, added up."""
    if not port:
        return
    registry: CollectorRegistry = REGISTRY
    if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        for collector in _scrape_time_collectors:
            registry.register(collector)
    start_http_server(port, addr=host, registry=registry)
    log.info("metrics on http://%s/metrics", f"[{host}]:{port}" if ":" in host else f"{host}:{port}")


_scrape_time_collectors: list[Collector] = []


def register_collector(collector: Collector) -> None:
    """A collector read at scrape time (queue depth, pools, outbox lag), in whichever registry this
    process serves."""
    _scrape_time_collectors.append(collector)
    if not os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        REGISTRY.register(collector)


# --- gRPC servers ----------------------------------------------------------------------------------


class GrpcMetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts each call by method and status code, and times it (outermost of our interceptors, so
    a call refused for its internal token counts too)."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[MethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> MethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return _timed_handler(handler, handler_call_details.method)


def _record(method: str, context: Context, started: float, failed: BaseException | None) -> None:
    code = context.code()
    if code is None:
        code = grpc.StatusCode.OK if failed is None else _code_of(failed)
    name = code.name if isinstance(code, grpc.StatusCode) else str(code)
    GRPC_CALLS.labels(method, name).inc()
    GRPC_SECONDS.labels(method).observe(time.perf_counter() - started)


def _code_of(exc: BaseException) -> grpc.StatusCode:
    if isinstance(exc, asyncio.CancelledError):
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN


def _timed_handler(handler: MethodHandler, method: str) -> MethodHandler:
    if handler.unary_unary or handler.stream_unary:
        streaming_request = handler.unary_unary is None
        behaviour: Any = handler.unary_unary or handler.stream_unary

        async def unary_response(request: Any, context: Context) -> Any:
            started, failed = time.perf_counter(), None
            try:
                return await behaviour(request, context)
            except BaseException as exc:
                failed = exc
                raise
            finally:
                _record(method, context, started, failed)

        make = (
            grpc.stream_unary_rpc_method_handler if streaming_request else grpc.unary_unary_rpc_method_handler
        )
        return make(unary_response, handler.request_deserializer, handler.response_serializer)
    if handler.unary_stream:
        streaming: Any = handler.unary_stream

        async def stream_response(request: Any, context: Context) -> Any:
            started, failed = time.perf_counter(), None
            try:
                async for item in streaming(request, context):
                    yield item
            except BaseException as exc:
                failed = exc
                raise
            finally:
                _record(method, context, started, failed)

        return grpc.unary_stream_rpc_method_handler(
            stream_response, handler.request_deserializer, handler.response_serializer
        )
    return handler
