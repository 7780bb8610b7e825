"""Channels and stubs for the internal services, opened once per process by the app's lifespan and
handed to route handlers through FastAPI dependencies.

Calls go through ServiceClient.call, so a failure carries the name of the service that failed
(a 503 says "accounts service unavailable", not just "unavailable").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import grpc
from fastapi import Depends, Request

from services.common.grpc_client import open_channel
from services.gateway.config import Settings
from services.gateway.errors import ServiceCallError
from zapcut.accounts.v1 import accounts_pb2_grpc
from zapcut.jobs.v1 import jobs_pb2_grpc
from zapcut.media.v1 import media_pb2, media_pb2_grpc

STUB_FACTORIES: dict[str, Callable[[grpc.aio.Channel], Any]] = {
    "accounts": accounts_pb2_grpc.AccountsStub,
    "media": media_pb2_grpc.MediaStub,
    "jobs": jobs_pb2_grpc.JobsStub,
}
SERVICES = tuple(STUB_FACTORIES)


class ServiceClient:
    """The channel and stub of one service."""

    def __init__(self, name: str, channel: grpc.aio.Channel):
        self.name = name
        self.channel = channel
        self.stub = STUB_FACTORIES[name](channel)

    async def call(self, method: str, request: Any, **kwargs: Any) -> Any:
        """`await accounts.call("CheckDependencies", request, timeout=1)`: the stub's unary (or
        stream-unary) method; a gRPC failure becomes a ServiceCallError naming this service."""
        try:
            return await getattr(self.stub, method)(request, **kwargs)
        except grpc.aio.AioRpcError as exc:
            raise ServiceCallError.from_rpc_error(self.name, exc) from exc


@dataclass
class ServiceClients:
    accounts: ServiceClient
    media: ServiceClient
    jobs: ServiceClient

    def get(self, name: str) -> ServiceClient:
        return getattr(self, name)

    def all(self) -> list[ServiceClient]:
        return [self.accounts, self.media, self.jobs]

    async def close(self) -> None:
        for client in self.all():
            await client.channel.close()


def open_service_clients(settings: Settings) -> ServiceClients:
    token = settings.internal_token.get_secret_value()
    addresses = {
        "accounts": settings.accounts_addr,
        "media": settings.media_addr,
        "jobs": settings.jobs_addr,
    }
    return ServiceClients(
        **{
            name: ServiceClient(name, open_channel(address, token, settings.grpc_deadline_s))
            for name, address in addresses.items()
        }
    )


async def presigned_urls(media: ServiceClient, keys: list[str], expires_in_s: int = 3600) -> dict[str, str]:
    """GET URLs for objects our records name, signed in one call to media (no round trip to S3)."""
    if not keys:
        return {}
    reply = await media.call(
        "PresignDownloads",
        media_pb2.PresignDownloadsRequest(
            refs=[media_pb2.ObjectRef(key=k) for k in keys], expires_in_s=expires_in_s
        ),
    )
    return {k: u.url for k, u in zip(keys, reply.urls, strict=True)}


# --- dependencies for route handlers -----------------------------------------------------------


def service_clients(request: Request) -> ServiceClients:
    return request.app.state.clients


def accounts_client(request: Request) -> ServiceClient:
    return service_clients(request).accounts


def media_client(request: Request) -> ServiceClient:
    return service_clients(request).media


def jobs_client(request: Request) -> ServiceClient:
    return service_clients(request).jobs


Clients = Annotated[ServiceClients, Depends(service_clients)]
Accounts = Annotated[ServiceClient, Depends(accounts_client)]
Media = Annotated[ServiceClient, Depends(media_client)]
Jobs = Annotated[ServiceClient, Depends(jobs_client)]
