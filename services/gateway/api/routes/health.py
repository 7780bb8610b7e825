"""GET /api/health (the whole system) and GET /api/health/{service} (one service and what it owns).

Each service answers for itself (grpc.health.v1) and for its backing servers (its CheckDependencies
RPC); the gateway never reaches Postgres, Redis or S3 directly. Every call runs concurrently under
its own deadline and the whole check under HEALTH_DEADLINE_S, so a hung service or server makes the
answer "unhealthy", never slow.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.common.grpc_client import health_status
from services.common.logging import redact
from services.gateway.clients import SERVICES, Clients, ServiceClients
from services.gateway.config import AppSettings
from services.gateway.errors import ServiceCallError
from services.gateway.schemas.common import examples
from zapcut.common.v1 import dependencies_pb2

router = APIRouter(prefix="/health", tags=["health"])

SERVING = "SERVING"
# What each service must report as ok; the services using a server are the ones that vouch for it.
OWNED_DEPENDENCIES = {
    "accounts": ("postgres", "redis"),
    "media": ("postgres", "s3"),
    "jobs": ("postgres", "redis"),
}


def _flag(results: list[ServiceHealth], dependency: str) -> bool | None:
    """Whether `dependency` is up, as the services that use it report: False as soon as one of them
    reports it down, True when every one that answered reports it up, None (unknown) when none of
    them answered — a service that is down says nothing about its servers."""
    seen = [r.dependency_ok(dependency) for r in results if r.reported(dependency)]
    if not seen:
        return None
    return all(seen)


class DependencyOut(BaseModel):
    model_config = examples({"name": "postgres", "ok": True, "latency_ms": 1.2, "detail": "ok"})

    name: str
    ok: bool
    latency_ms: float
    detail: str


class ServiceHealthOut(BaseModel):
    model_config = examples(
        {
            "service": "accounts",
            "status": "SERVING",
            "dependencies": [
                {"name": "postgres", "ok": True, "latency_ms": 1.2, "detail": "ok"},
                {"name": "redis", "ok": True, "latency_ms": 0.4, "detail": "ok"},
            ],
        }
    )

    service: str
    status: str
    dependencies: list[DependencyOut] = Field(
        description="The servers the service uses, as it reports them; empty when it did not answer."
    )
    error: str | None = Field(None, description="Why the service's own report is missing, if it is.")


UNKNOWN_FLAG = "absent when no service that uses the server answered (unknown, not down)"


class HealthOut(BaseModel):
    model_config = examples(
        {
            "status": "healthy",
            "timestamp": "2026-12-02T10:00:00.000Z",
            "db_connected": True,
            "redis_connected": True,
            "s3_connected": True,
            "services": {"accounts": "SERVING", "media": "SERVING", "jobs": "SERVING"},
        }
    )

    status: str
    timestamp: str
    db_connected: bool | None = Field(None, description=f"PostgreSQL; {UNKNOWN_FLAG}")
    redis_connected: bool | None = Field(None, description=f"Redis; {UNKNOWN_FLAG}")
    s3_connected: bool | None = Field(None, description=f"S3; {UNKNOWN_FLAG}")
    services: dict[str, str]
    errors: list[str] | None = None


@dataclass
class ServiceHealth:
    name: str
    status: str
    dependencies: list[DependencyOut] = field(default_factory=list)
    # Set when the service's report of its servers is missing: what went wrong asking for it.
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.status == SERVING and self.error is None and all(d.ok for d in self.dependencies)

    def reported(self, name: str) -> bool:
        return any(d.name == name for d in self.dependencies)

    def dependency_ok(self, name: str) -> bool:
        return any(d.name == name and d.ok for d in self.dependencies)

    def problems(self) -> list[str]:
        """What is wrong, naming only what is down: a service that does not answer is reported as
        that service, not as every server it would have vouched for."""
        if self.status != SERVING:
            return [f"{self.name}: {self.status}"]
        if self.error is not None:
            return [f"{self.name}: {self.error}"]
        return [f"{self.name}: {d.name} down" for d in self.dependencies if not d.ok]


async def _dependencies(
    clients: ServiceClients, service: str, timeout_s: float
) -> tuple[list[DependencyOut], str | None]:
    """The servers the service reports, and None; or nothing and why the report is missing."""
    try:
        reply = await clients.stub(service).CheckDependencies(
            dependencies_pb2.CheckDependenciesRequest(), timeout=timeout_s
        )
    except ServiceCallError as exc:
        return [], f"dependencies unknown ({exc.code.name})"
    reported = [
        DependencyOut(name=d.name, ok=d.ok, latency_ms=round(d.latency_ms, 1), detail=redact(d.detail))
        for d in reply.dependencies
    ]
    # A server the service must vouch for but did not report counts as down: the service answered.
    missing = [name for name in OWNED_DEPENDENCIES[service] if name not in {d.name for d in reported}]
    return reported + [
        DependencyOut(name=name, ok=False, latency_ms=0.0, detail="not reported") for name in missing
    ], None


async def check_service(
    clients: ServiceClients, service: str, call_timeout_s: float, deadline_s: float
) -> ServiceHealth:
    try:
        status, (dependencies, error) = await asyncio.wait_for(
            asyncio.gather(
                health_status(clients.channels[service], call_timeout_s, service=service),
                _dependencies(clients, service, call_timeout_s),
            ),
            deadline_s,
        )
    except TimeoutError:
        return ServiceHealth(service, "DEADLINE_EXCEEDED", error=f"no answer within {deadline_s:.1f} s")
    if status != SERVING:
        # Whatever it said about its servers, a service that is not serving vouches for nothing.
        return ServiceHealth(service, status, error=error or f"{service} is {status}")
    return ServiceHealth(service, status, dependencies, error)


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@router.get(
    "",
    response_model=HealthOut,
    response_model_exclude_none=True,
    summary="Health of the gateway, every service and the servers they use",
    responses={503: {"model": HealthOut, "description": "Some part is down"}},
)
async def get_health(clients: Clients, settings: AppSettings) -> HealthOut | JSONResponse:
    results = await asyncio.gather(
        *(
            check_service(clients, service, settings.health_call_timeout_s, settings.health_deadline_s)
            for service in SERVICES
        )
    )
    body = HealthOut(
        status="healthy",
        timestamp=_timestamp(),
        db_connected=_flag(results, "postgres"),
        redis_connected=_flag(results, "redis"),
        s3_connected=_flag(results, "s3"),
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
    response_model_exclude_none=True,
    summary="Health of one service and of the servers it owns",
    responses={
        404: {"description": "No such service"},
        503: {"model": ServiceHealthOut, "description": "The service or one of its servers is down"},
    },
)
async def get_service_health(
    service: str, clients: Clients, settings: AppSettings
) -> ServiceHealthOut | JSONResponse:
    if service not in SERVICES:
        raise HTTPException(404, f"unknown service; expected one of: {', '.join(SERVICES)}")
    result = await check_service(clients, service, settings.health_call_timeout_s, settings.health_deadline_s)
    body = ServiceHealthOut(
        service=service, status=result.status, dependencies=result.dependencies, error=result.error
    )
    if result.healthy:
        return body
    return JSONResponse(body.model_dump(exclude_none=True), status_code=503)
