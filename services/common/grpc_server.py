"""Running a grpc.aio server the same way in every service.

- the standard grpc.health.v1 service, SERVING once started, NOT_SERVING while shutting down;
- an interceptor that checks x-internal-token (health stays open for probes), carries the
  request id and user id into context variables, logs each call, and turns ServiceError and
  unexpected exceptions into clean status codes (never a traceback to the caller);
- graceful shutdown on SIGTERM or SIGINT: stop accepting, let in-flight calls finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias, TypeVar, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.context import (
    INTERNAL_TOKEN_HEADER,
    REQUEST_ID_HEADER,
    USER_ID_HEADER,
    request_id_var,
    user_id_var,
)
from services.common.errors import ServiceError, unavailable_dependency
from services.common.grpc_client import grpc_target
from services.common.logging import configure_from_settings
from services.common.metrics import GrpcMetricsInterceptor, serve_metrics
from services.common.settings import BaseConfig, load_settings, secret_value
from services.common.telemetry import setup_tracing

log = logging.getLogger(__name__)

HEALTH_PREFIX = "/grpc.health.v1.Health/"
Settings = TypeVar("Settings", bound=BaseConfig)
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class PortInUse(RuntimeError):
    pass


if TYPE_CHECKING:  # grpc's classes are generic only in its stubs
    Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
    MethodHandler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
    # grpc's stubs type a method handler's behaviours as blocking functions; on a grpc.aio server
    # they are coroutine functions, and async generators when the response is streamed.
    UnaryBehaviour: TypeAlias = Callable[[Any, Context], Awaitable[Any]]
    StreamingBehaviour: TypeAlias = Callable[[Any, Context], AsyncIterator[Any]]


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, internal_token: str) -> None:
        self._token = internal_token.encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[MethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> MethodHandler | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(HEALTH_PREFIX):
            return handler
        # Text values only: ours are all text (binary ones come only under "-bin" keys).
        metadata = {k: v for k, v in (handler_call_details.invocation_metadata or ()) if isinstance(v, str)}
        token = metadata.get(INTERNAL_TOKEN_HEADER, "")
        authorized = hmac.compare_digest(token.encode(), self._token)
        return _wrap_handler(handler, method, metadata, authorized)


def _wrap_handler(
    handler: MethodHandler, method: str, metadata: dict[str, str], authorized: bool
) -> MethodHandler:
    async def prepare(context: Context) -> float:
        request_id_var.set(metadata.get(REQUEST_ID_HEADER))
        user_id_var.set(metadata.get(USER_ID_HEADER))
        if not authorized:
            log.warning("rejected %s: missing or wrong internal token", method)
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid internal token")
        return time.perf_counter()

    async def fail(context: Context, exc: Exception, started: float) -> NoReturn:
        if isinstance(exc, ServiceError):
            log.info("%s -> %s: %s", method, exc.code.name, exc.message)
            await context.abort(exc.code, exc.message, trailing_metadata=exc.trailers)
        if dependency := unavailable_dependency(exc):
            log.warning("%s: %s unavailable: %s", method, dependency, str(exc).splitlines()[0][:300])
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"{dependency} unavailable; try again shortly")
        log.exception("%s failed after %.1f ms", method, (time.perf_counter() - started) * 1000)
        await context.abort(grpc.StatusCode.INTERNAL, "internal error")

    def done(started: float) -> None:
        log.debug("%s ok in %.1f ms", method, (time.perf_counter() - started) * 1000)

    if handler.unary_unary:
        unary = cast("UnaryBehaviour", handler.unary_unary)

        async def unary_unary(request: Any, context: Context) -> Any:
            started = await prepare(context)
            try:
                response = await unary(request, context)
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception as exc:  # noqa: BLE001 - the boundary: map, log, never leak
                await fail(context, exc, started)
            done(started)
            return response

        return grpc.unary_unary_rpc_method_handler(
            unary_unary, handler.request_deserializer, handler.response_serializer
        )
    if handler.stream_unary:
        stream_unary_ = cast("UnaryBehaviour", handler.stream_unary)

        async def stream_unary(request_iterator: AsyncIterator[Any], context: Context) -> Any:
            started = await prepare(context)
            try:
                response = await stream_unary_(request_iterator, context)
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception as exc:  # noqa: BLE001
                await fail(context, exc, started)
            done(started)
            return response

        return grpc.stream_unary_rpc_method_handler(
            stream_unary, handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_stream:
        unary_stream_ = cast("StreamingBehaviour", handler.unary_stream)

        async def unary_stream(request: Any, context: Context) -> AsyncIterator[Any]:
            started = await prepare(context)
            try:
                async for item in unary_stream_(request, context):
                    yield item
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception as exc:  # noqa: BLE001
                await fail(context, exc, started)
            done(started)

        return grpc.unary_stream_rpc_method_handler(
            unary_stream, handler.request_deserializer, handler.response_serializer
        )
    return handler


class HealthService(health_pb2_grpc.HealthServicer):
    """The standard grpc.health.v1 service, whose Watch streams end once shutdown has begun, after
    telling the watcher NOT_SERVING. grpcio-health-checking's never end, and would hold the
    server's whole grace period now that every client watches (client-side health checking); a
    client whose watch ends keeps the last status it saw (gRFC A17)."""

    def __init__(self) -> None:
        self._status: dict[str, int] = {"": health_pb2.HealthCheckResponse.SERVING}
        self._changed = asyncio.Condition()
        self._shutting_down = False

    async def set(self, service: str, status: int) -> None:
        async with self._changed:
            if not self._shutting_down:
                self._status[service] = status
                self._changed.notify_all()

    async def enter_graceful_shutdown(self) -> None:
        async with self._changed:
            self._shutting_down = True
            for service in self._status:
                self._status[service] = health_pb2.HealthCheckResponse.NOT_SERVING
            self._changed.notify_all()

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        status = self._status.get(request.service)
        if status is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=status)

    async def Watch(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[health_pb2.HealthCheckResponse]:
        unknown = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
        last = None
        while True:
            async with self._changed:
                while (
                    status := self._status.get(request.service, unknown)
                ) == last and not self._shutting_down:
                    await self._changed.wait()
                ending = self._shutting_down
            if status != last:
                yield health_pb2.HealthCheckResponse(status=status)
                last = status
            if ending:
                return


async def run_server(
    *,
    service_name: str,
    settings: BaseConfig,
    port: int,
    register: Callable[[grpc.aio.Server], None],
    background: Iterable[Coroutine[Any, Any, None]] = (),
    on_stop: Callable[[], Awaitable[None]] | None = None,
    on_draining: Callable[[], None] | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT, then shut down gracefully.

    `background` coroutines (relays, consumers, reconcilers) run beside the server and are cancelled
    once it has stopped; `on_stop` then closes what the service opened (engines, clients).
    `on_draining` runs as shutdown starts, to end long-lived streams that would hold the grace period.
    """
    server = grpc.aio.server(
        interceptors=[GrpcMetricsInterceptor(), ServiceInterceptor(secret_value(settings.internal_token))],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    register(server)
    health_servicer = HealthService()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    address = grpc_target(settings.grpc_bind_host, port)
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if not bound:
        raise PortInUse(f"port {port} is busy; set {service_name.upper()}_PORT to use another")
    try:
        serve_metrics(settings.metrics_port, settings.grpc_bind_host)
    except OSError:
        raise PortInUse(
            f"metrics port {settings.metrics_port} is busy; set METRICS_PORT to use another"
        ) from None
    await server.start()
    for name in ("", service_name):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("%s listening on %s", service_name, address)
    tasks = [asyncio.create_task(coroutine) for coroutine in background]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        grace = settings.shutdown_grace_s
        log.info("%s stopping: finishing in-flight calls (grace %.0f s)", service_name, grace)
        await health_servicer.enter_graceful_shutdown()
        if on_draining is not None:
            on_draining()
        # Clients watching our health stop sending here; calls already on their way are served.
        await asyncio.sleep(settings.shutdown_drain_s)
        await server.stop(grace)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if on_stop is not None:
            await on_stop()
        log.info("%s stopped", service_name)


def run_service(
    service_name: str,
    settings_class: type[Settings],
    serve: Callable[[Settings], Coroutine[Any, Any, None]],
    fatal: tuple[type[Exception], ...] = (),
) -> None:
    """A service process's main(): settings (one line and exit 2 when wrong), logging, then serve.
    PortInUse and the `fatal` start-up errors end the process with their one-line message."""
    settings = load_settings(settings_class)
    configure_from_settings(service_name, settings)
    setup_tracing(service_name)  # before serve() opens the engines, clients and server it instruments
    stops_the_process: tuple[type[Exception], ...] = (PortInUse, *fatal)
    try:
        asyncio.run(serve(settings))
    except stops_the_process as exc:
        raise SystemExit(str(exc)) from None
