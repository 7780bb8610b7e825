"""GET /api/health (the whole system) and GET /api/health/{service} (one service and what it owns).

Each service answers for itself (grpc.health.v1) and for its backing servers (its CheckDependencies
RPC); the gateway never reaches Postgres, Redis or S3 directly. Every call runs concurrently under
its own deadline and the whole check under HEALTH_DEADLINE_S, so a hung service or server makes the
answer "unhealthy", never slow.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.common.grpc_client import health_status
from services.common.logging import redact
from services.gateway.clients import SERVICES, Clients, ServiceClient
from services.gateway.config import AppSettings
from services.gateway.errors import ServiceCallError
from zapcut.common.v1 import dependencies_pb2

router = APIRouter(prefix="/health", tags=["health"])

SERVING = "SERVING"
# What each service must report as ok; the services using a server are the ones that vouch for it.
OWNED_DEPENDENCIES = {
    "accounts": ("postgres", "redis"),
    "media": ("postgres", "s3"),
    "jobs": ("postgres", "redis"),
}


def _all_ok(results: list[ServiceHealth], dependency: str) -> bool:
    """True when every service that uses `dependency` reports it ok."""
    return all(r.dependency_ok(dependency) for r in results if dependency in OWNED_DEPENDENCIES[r.name])


class DependencyOut(BaseModel):
    name: str
    ok: bool
    latency_ms: float
    detail: str


class ServiceHealthOut(BaseModel):
    service: str
    status: str
    dependencies: list[DependencyOut]


class HealthOut(BaseModel):
    status: str
    timestamp: str
    db_connected: bool
    redis_connected: bool
    s3_connected: bool
    services: dict[str, str]
    errors: list[str] | None = None


@dataclass
class ServiceHealth:
    name: str
    status: str
    dependencies: list[DependencyOut] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.status == SERVING and all(d.ok for d in self.dependencies)

    def dependency_ok(self, name: str) -> bool:
        return any(d.name == name and d.ok for d in self.dependencies)

    def problems(self) -> list[str]:
        found = [] if self.status == SERVING else [f"{self.name}: {self.status}"]
        return found + [f"{self.name}: {d.name} down" for d in self.dependencies if not d.ok]


def _unreachable(service: str, why: str, elapsed_ms: float) -> list[DependencyOut]:
    return [
        DependencyOut(name=name, ok=False, latency_ms=round(elapsed_ms, 1), detail=why)
        for name in OWNED_DEPENDENCIES[service]
    ]


async def _dependencies(client: ServiceClient, timeout_s: float) -> list[DependencyOut]:
    started = time.perf_counter()
    try:
        reply = await client.call(
            "CheckDependencies", dependencies_pb2.CheckDependenciesRequest(), timeout=timeout_s
        )
    except ServiceCallError as exc:
        why = f"{client.name} service {exc.code.name.lower()}"
        return _unreachable(client.name, why, (time.perf_counter() - started) * 1000)
    reported = [
        DependencyOut(name=d.name, ok=d.ok, latency_ms=round(d.latency_ms, 1), detail=redact(d.detail))
        for d in reply.dependencies
    ]
    # A dependency the service should own but did not report counts as down.
    missing = [name for name in OWNED_DEPENDENCIES[client.name] if name not in {d.name for d in reported}]
    return reported + [
        DependencyOut(name=name, ok=False, latency_ms=0.0, detail="not reported") for name in missing
    ]


async def check_service(client: ServiceClient, call_timeout_s: float, deadline_s: float) -> ServiceHealth:
    started = time.perf_counter()
    try:
        status, dependencies = await asyncio.wait_for(
            asyncio.gather(
                health_status(client.channel, call_timeout_s, service=client.name),
                _dependencies(client, call_timeout_s),
            ),
            deadline_s,
        )
    except TimeoutError:
        why = f"no answer within {deadline_s:.1f} s"
        elapsed_ms = (time.perf_counter() - started) * 1000
        return ServiceHealth(client.name, "DEADLINE_EXCEEDED", _unreachable(client.name, why, elapsed_ms))
    return ServiceHealth(client.name, status, dependencies)


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@router.get(
    "",
    response_model=HealthOut,
    response_model_exclude_none=True,
    summary="Health of the gateway, every service and the servers they use",
    responses={503: {"model": HealthOut, "description": "Some part is down"}},
)
async def system_health(clients: Clients, settings: AppSettings):
    results = await asyncio.gather(
        *(
            check_service(client, settings.health_call_timeout_s, settings.health_deadline_s)
            for client in clients.all()
        )
    )
    body = HealthOut(
        status="healthy",
        timestamp=_timestamp(),
        db_connected=_all_ok(results, "postgres"),
        redis_connected=_all_ok(results, "redis"),
        s3_connected=_all_ok(results, "s3"),
        services={r.name: r.status for r in results},
    )
    problems = [problem for r in results for problem in r.problems()]
    if not problems:
        return body
    body.status = "unhealthy"
    body.errors = problems
    return JSONResponse(body.model_dump(exclude_none=True), status_code=503)


@router.get(
    "/{service}",
    response_model=ServiceHealthOut,
    summary="Health of one service and of the servers it owns",
    responses={
        404: {"description": "No such service"},
        503: {"model": ServiceHealthOut, "description": "The service or one of its servers is down"},
    },
)
async def service_health(service: str, clients: Clients, settings: AppSettings):
    if service not in SERVICES:
        raise HTTPException(404, f"unknown service; expected one of: {', '.join(SERVICES)}")
    result = await check_service(
        clients.get(service), settings.health_call_timeout_s, settings.health_deadline_s
    )
    body = ServiceHealthOut(service=service, status=result.status, dependencies=result.dependencies)
    if result.healthy:
        return body
    return JSONResponse(body.model_dump(), status_code=503)
