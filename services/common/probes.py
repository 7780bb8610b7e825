"""Live checks of backing servers for the CheckDependencies RPC every service offers.

Each probe runs under its own timeout, so one hanging server cannot hold up the answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from zapcut.common.v1 import dependencies_pb2

Probe = Callable[[], Awaitable[object]]


async def run_probe(name: str, probe: Probe, timeout_s: float) -> dependencies_pb2.DependencyStatus:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), timeout_s)
    except TimeoutError:
        detail = f"no answer within {timeout_s:.1f} s"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ok"; the reason goes in detail
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    else:
        detail = ""
    return dependencies_pb2.DependencyStatus(
        name=name, ok=not detail, detail=detail, latency_ms=(time.perf_counter() - started) * 1000
    )


async def check_all(probes: dict[str, Probe], timeout_s: float) -> dependencies_pb2.CheckDependenciesResponse:
    statuses = await asyncio.gather(*(run_probe(n, p, timeout_s) for n, p in probes.items()))
    return dependencies_pb2.CheckDependenciesResponse(dependencies=statuses)
