"""Running a grpc.aio server the same way in every service.

- the standard grpc.health.v1 service, SERVING once started, NOT_SERVING while shutting down;
- an interceptor that checks x-internal-token (health stays open for probes), carries the
  request id and user id into context variables, logs each call, and turns ServiceError and
  unexpected exceptions into clean status codes (never a traceback to the caller);
- graceful shutdown on SIGTERM or SIGINT: stop accepting, let in-flight calls finish.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
import time
from collections.abc import Awaitable, Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.common.context import (
    INTERNAL_TOKEN_HEADER,
    REQUEST_ID_HEADER,
    USER_ID_HEADER,
    request_id_var,
    user_id_var,
)
from services.common.errors import ServiceError, unavailable_dependency

log = logging.getLogger(__name__)

HEALTH_PREFIX = "/grpc.health.v1.Health/"
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class PortInUse(RuntimeError):
    pass


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, internal_token: str):
        self._token = internal_token.encode()

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(HEALTH_PREFIX):
            return handler
        metadata = {k: v for k, v in (handler_call_details.invocation_metadata or ())}
        token = metadata.get(INTERNAL_TOKEN_HEADER, "")
        authorized = hmac.compare_digest(token.encode() if isinstance(token, str) else token, self._token)
        return _wrap_handler(handler, method, metadata, authorized)


def _wrap_handler(handler, method: str, metadata: dict, authorized: bool):
    async def prepare(context) -> float:
        request_id_var.set(metadata.get(REQUEST_ID_HEADER))
        user_id_var.set(metadata.get(USER_ID_HEADER))
        if not authorized:
            log.warning("rejected %s: missing or wrong internal token", method)
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid internal token")
        return time.perf_counter()

    async def fail(context, exc: Exception, started: float):
        if isinstance(exc, ServiceError):
            log.info("%s -> %s: %s", method, exc.code.name, exc.message)
            await context.abort(exc.code, exc.message, trailing_metadata=exc.trailers)
        if dependency := unavailable_dependency(exc):
            log.warning("%s: %s unavailable: %s", method, dependency, str(exc).splitlines()[0][:300])
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"{dependency} unavailable; try again shortly")
        log.exception("%s failed after %.1f ms", method, (time.perf_counter() - started) * 1000)
        await context.abort(grpc.StatusCode.INTERNAL, "internal error")

    def done(started: float):
        log.debug("%s ok in %.1f ms", method, (time.perf_counter() - started) * 1000)

    if handler.unary_unary:
        inner = handler.unary_unary

        async def unary_unary(request, context):
            started = await prepare(context)
            try:
                response = await inner(request, context)
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
        inner = handler.stream_unary

        async def stream_unary(request_iterator, context):
            started = await prepare(context)
            try:
                response = await inner(request_iterator, context)
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
        inner = handler.unary_stream

        async def unary_stream(request, context):
            started = await prepare(context)
            try:
                async for item in inner(request, context):
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


async def run_server(
    *,
    service_name: str,
    bind_host: str,
    port: int,
    internal_token: str,
    register: Callable[[grpc.aio.Server], None],
    shutdown_grace_s: float = 10.0,
    on_stop: Callable[[], Awaitable[None]] | None = None,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT (or until `stop` is set), then shut down gracefully.

    `ready` and `stop` let tests run a server in-process; a real process leaves them None.
    """
    server = grpc.aio.server(
        interceptors=[ServiceInterceptor(internal_token)],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    address = f"{bind_host}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if not bound:
        raise PortInUse(f"port {port} is busy; set {service_name.upper()}_PORT to use another")
    await server.start()
    for name in ("", service_name):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("%s listening on %s", service_name, address)

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (RuntimeError, ValueError):  # not the main thread (tests)
            pass
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        log.info("%s stopping: finishing in-flight calls (grace %.0f s)", service_name, shutdown_grace_s)
        await health_servicer.enter_graceful_shutdown()
        await server.stop(shutdown_grace_s)
        if on_stop is not None:
            await on_stop()
        for sig in installed:
            loop.remove_signal_handler(sig)
        log.info("%s stopped", service_name)
