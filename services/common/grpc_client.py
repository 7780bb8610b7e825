"""Channels to other services, asyncio (the services) or blocking (the RQ workers): every call
carries the internal token, the request id and user id from context, and a deadline (the configured
default unless the caller gives one). Every channel spreads its calls round-robin over the addresses
its target names and retries the idempotent ones on UNAVAILABLE (services/common/service_config.py)."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common import service_config
from services.common.context import (
    INTERNAL_TOKEN_HEADER,
    REQUEST_ID_HEADER,
    USER_ID_HEADER,
    request_id_var,
    user_id_var,
)

RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")
# What a stream-unary interceptor receives, and passes on, as the request stream.
RequestStream = AsyncIterable[RequestT] | Iterable[RequestT]


def grpc_target(host: str, port: int) -> str:
    """host:port as gRPC spells a target or a bind address: an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# Metadata as grpc hands it to interceptors: (key, value) pairs, binary values under "-bin" keys.
MetadataPairs = Iterable[tuple[str, str | bytes]]


def call_metadata(internal_token: str, given: MetadataPairs = ()) -> list[tuple[str, str | bytes]]:
    """The metadata of a call to one of our services: what the caller gave, the internal token, and
    the request id and user id of the call being served unless the caller gave its own."""
    metadata: list[tuple[str, str | bytes]] = [
        (key, value) for key, value in given if key != INTERNAL_TOKEN_HEADER
    ]
    named = {key for key, _ in metadata}
    metadata.append((INTERNAL_TOKEN_HEADER, internal_token))
    if (rid := request_id_var.get()) and REQUEST_ID_HEADER not in named:
        metadata.append((REQUEST_ID_HEADER, rid))
    if (uid := user_id_var.get()) and USER_ID_HEADER not in named:
        metadata.append((USER_ID_HEADER, uid))
    return metadata


class _CallDetails(grpc.aio.ClientCallDetails):
    pass


class _MetadataAndDeadline:
    def __init__(self, internal_token: str, default_timeout_s: float) -> None:
        self._token = internal_token
        self._timeout = default_timeout_s

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        return _CallDetails(
            method=details.method,
            timeout=details.timeout if details.timeout is not None else self._timeout,
            metadata=grpc.aio.Metadata(*call_metadata(self._token, details.metadata or ())),
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready,
        )


class _UnaryUnary(_MetadataAndDeadline, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self,
        continuation: Callable[
            [grpc.aio.ClientCallDetails, RequestT], Awaitable[grpc.aio.UnaryUnaryCall[RequestT, ResponseT]]
        ],
        client_call_details: grpc.aio.ClientCallDetails,
        request: RequestT,
    ) -> grpc.aio.UnaryUnaryCall[RequestT, ResponseT]:
        return await continuation(self._details(client_call_details), request)


class _StreamUnary(_MetadataAndDeadline, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(
        self,
        continuation: Callable[
            [grpc.aio.ClientCallDetails, RequestStream[RequestT]],
            Awaitable[grpc.aio.StreamUnaryCall[RequestT, ResponseT]],
        ],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: RequestStream[RequestT],
    ) -> grpc.aio.StreamUnaryCall[RequestT, ResponseT]:
        return await continuation(self._details(client_call_details), request_iterator)


class _UnaryStream(_MetadataAndDeadline, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self,
        continuation: Callable[
            [grpc.aio.ClientCallDetails, RequestT], Awaitable[grpc.aio.UnaryStreamCall[RequestT, ResponseT]]
        ],
        client_call_details: grpc.aio.ClientCallDetails,
        request: RequestT,
    ) -> grpc.aio.UnaryStreamCall[RequestT, ResponseT]:
        return await continuation(self._details(client_call_details), request)


# Every channel to our own services, asyncio or blocking.
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 8 * 1024 * 1024),
    ("grpc.max_send_message_length", 8 * 1024 * 1024),
    # Reconnect quickly after a service restarts instead of backing off for up to 2 minutes.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
    # Round-robin over every replica the target names, retries of idempotent calls.
    *service_config.channel_options(),
]


def open_channel(
    address: str,
    internal_token: str,
    default_timeout_s: float = 5.0,
    interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
    extra_options: Sequence[tuple[str, int | str]] = (),
) -> grpc.aio.Channel:
    """`interceptors` run before (outside) the ones adding the token, ids and deadline;
    `extra_options` are channel arguments added to CHANNEL_OPTIONS."""
    args = (internal_token, default_timeout_s)
    return grpc.aio.insecure_channel(
        address,
        interceptors=[*interceptors, _UnaryUnary(*args), _StreamUnary(*args), _UnaryStream(*args)],
        options=[*CHANNEL_OPTIONS, *extra_options],
    )


@dataclass(frozen=True)
class _BlockingCallDetails(grpc.ClientCallDetails):
    method: str
    timeout: float | None
    metadata: tuple[tuple[str, str | bytes], ...] | None
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


class _BlockingMetadataAndDeadline(grpc.UnaryUnaryClientInterceptor, grpc.StreamUnaryClientInterceptor):
    """The blocking twin of the interceptors above (grpc's two APIs take different interceptors)."""

    def __init__(self, internal_token: str, default_timeout_s: float):
        self._token = internal_token
        self._timeout = default_timeout_s

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        return _BlockingCallDetails(
            method=details.method,
            timeout=details.timeout if details.timeout is not None else self._timeout,
            metadata=tuple(call_metadata(self._token, details.metadata or ())),
            credentials=details.credentials,
            wait_for_ready=getattr(details, "wait_for_ready", None),
            compression=getattr(details, "compression", None),
        )

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, RequestT], ResponseT],
        client_call_details: grpc.ClientCallDetails,
        request: RequestT,
    ) -> ResponseT:
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Iterator[RequestT]], ResponseT],
        client_call_details: grpc.ClientCallDetails,
        request_iterator: Iterator[RequestT],
    ) -> ResponseT:
        return continuation(self._details(client_call_details), request_iterator)


def open_blocking_channel(address: str, internal_token: str, default_timeout_s: float = 5.0) -> grpc.Channel:
    """A blocking channel, for synchronous code (RQ's work horses): the same metadata, deadline and
    options as open_channel."""
    return grpc.intercept_channel(
        grpc.insecure_channel(address, options=CHANNEL_OPTIONS),
        _BlockingMetadataAndDeadline(internal_token, default_timeout_s),
    )


async def health_check(
    channel: grpc.aio.Channel, timeout_s: float, service: str = ""
) -> health_pb2.HealthCheckResponse:
    """A server's grpc.health.v1 answer; AioRpcError when it does not give one."""
    stub = health_pb2_grpc.HealthStub(channel)
    # types-grpcio-health-checking declares HealthStub without its methods; the reply is typed here.
    reply: health_pb2.HealthCheckResponse = await stub.Check(  # type: ignore[attr-defined]
        health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
    )
    return reply


async def health_status(channel: grpc.aio.Channel, timeout_s: float, service: str = "") -> str:
    """The grpc.health.v1 status name of a server, or UNAVAILABLE / DEADLINE_EXCEEDED when unreachable."""
    try:
        reply = await health_check(channel, timeout_s, service)
    except grpc.aio.AioRpcError as exc:
        return exc.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
