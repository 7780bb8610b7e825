"""Channels and stubs for the internal services, opened once per process by the app's lifespan and
handed to route handlers through FastAPI dependencies.

Handlers call the typed stubs as methods (`await accounts.CreateBrand(request)`). Each service's
channel carries an interceptor that turns a failed call into a ServiceCallError naming that service,
so a 503 says "accounts service unavailable", not just "unavailable".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated

import grpc
from fastapi import Depends, Request

from services.common.grpc_client import RequestStream, RequestT, ResponseT, open_channel
from services.common.grpc_server import HEALTH_PREFIX
from services.common.settings import secret_value
from services.gateway.config import Settings
from services.gateway.errors import ServiceCallError
from zapcut.accounts.v1 import accounts_pb2_grpc
from zapcut.jobs.v1 import jobs_pb2_grpc
from zapcut.media.v1 import media_pb2, media_pb2_grpc

if TYPE_CHECKING:
    from zapcut.accounts.v1.accounts_pb2_grpc import AccountsAsyncStub
    from zapcut.jobs.v1.jobs_pb2_grpc import JobsAsyncStub
    from zapcut.media.v1.media_pb2_grpc import MediaAsyncStub
else:
    # The stubs' .pyi names a stub on a grpc.aio channel (awaitable methods) apart; at run time it
    # is the same class, which FastAPI needs to read the dependency aliases below.
    AccountsAsyncStub = accounts_pb2_grpc.AccountsStub
    JobsAsyncStub = jobs_pb2_grpc.JobsStub
    MediaAsyncStub = media_pb2_grpc.MediaStub

SERVICES = ("accounts", "media", "jobs")
# Every service's stub answers CheckDependencies (the health routes call it on each).
ServiceStub = AccountsAsyncStub | MediaAsyncStub | JobsAsyncStub


class _NamedErrors:
    """Waits for each call's outcome and raises a failure as ServiceCallError(service, ...), the
    error the gateway's one mapping turns into HTTP. The call it returns is done: awaiting it again
    gives its reply at once. (Our services have no server-streaming RPCs.)"""

    def __init__(self, service: str) -> None:
        self.service = service

    async def _settled(self, details: grpc.aio.ClientCallDetails, call: Awaitable[object]) -> None:
        # Health checks are left alone: their failure is an answer (health_status reads its code).
        # grpc.aio hands interceptors the method as bytes (its stubs say str).
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        if method.startswith(HEALTH_PREFIX):
            return
        try:
            await call
        except grpc.aio.AioRpcError as exc:
            raise ServiceCallError.from_rpc_error(self.service, exc) from exc


# One class per kind of call: a channel files an interceptor under the first kind it is.
class _UnaryUnaryNamedErrors(_NamedErrors, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self,
        continuation: Callable[
            [grpc.aio.ClientCallDetails, RequestT], Awaitable[grpc.aio.UnaryUnaryCall[RequestT, ResponseT]]
        ],
        client_call_details: grpc.aio.ClientCallDetails,
        request: RequestT,
    ) -> grpc.aio.UnaryUnaryCall[RequestT, ResponseT]:
        call = await continuation(client_call_details, request)
        await self._settled(client_call_details, call)
        return call


class _StreamUnaryNamedErrors(_NamedErrors, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(
        self,
        continuation: Callable[
            [grpc.aio.ClientCallDetails, RequestStream[RequestT]],
            Awaitable[grpc.aio.StreamUnaryCall[RequestT, ResponseT]],
        ],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: RequestStream[RequestT],
    ) -> grpc.aio.StreamUnaryCall[RequestT, ResponseT]:
        call = await continuation(client_call_details, request_iterator)
        await self._settled(client_call_details, call)
        return call


class ServiceClients:
    """One channel per service for the life of the process, and the typed stub on each."""

    def __init__(self, channels: dict[str, grpc.aio.Channel]) -> None:
        self.channels = channels
        self.accounts: AccountsAsyncStub = accounts_pb2_grpc.AccountsStub(channels["accounts"])
        self.media: MediaAsyncStub = media_pb2_grpc.MediaStub(channels["media"])
        self.jobs: JobsAsyncStub = jobs_pb2_grpc.JobsStub(channels["jobs"])

    def stub(self, service: str) -> ServiceStub:
        stubs: dict[str, ServiceStub] = {"accounts": self.accounts, "media": self.media, "jobs": self.jobs}
        return stubs[service]

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()


def open_service_clients(settings: Settings) -> ServiceClients:
    token = secret_value(settings.internal_token)
    addresses = {
        "accounts": settings.accounts_addr,
        "media": settings.media_addr,
        "jobs": settings.jobs_addr,
    }
    return ServiceClients(
        {
            name: open_channel(
                address,
                token,
                settings.grpc_deadline_s,
                interceptors=[_UnaryUnaryNamedErrors(name), _StreamUnaryNamedErrors(name)],
            )
            for name, address in addresses.items()
        }
    )


async def presigned_urls(media: MediaAsyncStub, keys: list[str], expires_in_s: int = 3600) -> dict[str, str]:
    """GET URLs for objects our records name, signed in one call to media (no round trip to S3)."""
    if not keys:
        return {}
    reply = await media.PresignDownloads(
        media_pb2.PresignDownloadsRequest(
            refs=[media_pb2.ObjectRef(key=k) for k in keys], expires_in_s=expires_in_s
        ),
    )
    return {k: u.url for k, u in zip(keys, reply.urls, strict=True)}


# --- dependencies for route handlers -----------------------------------------------------------
# `async def`, though they never wait: FastAPI runs a plain `def` dependency in its thread pool, a
# thread hop per dependency per request (6.5% of the gateway's CPU under load, in py-spy).


def _clients(request: Request) -> ServiceClients:
    clients: ServiceClients = request.app.state.clients
    return clients


async def service_clients(request: Request) -> ServiceClients:
    return _clients(request)


async def accounts_stub(request: Request) -> AccountsAsyncStub:
    return _clients(request).accounts


async def media_stub(request: Request) -> MediaAsyncStub:
    return _clients(request).media


async def jobs_stub(request: Request) -> JobsAsyncStub:
    return _clients(request).jobs


Clients = Annotated[ServiceClients, Depends(service_clients)]
Accounts = Annotated[AccountsAsyncStub, Depends(accounts_stub)]
Media = Annotated[MediaAsyncStub, Depends(media_stub)]
Jobs = Annotated[JobsAsyncStub, Depends(jobs_stub)]
