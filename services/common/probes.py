"""Live checks of backing servers for the CheckDependencies RPC every service offers.

Each probe runs under its own timeout, so one hanging server cannot hold up the answer. Calls that
arrive while a round of probes is running share it (DependencyCheck): a burst of health checks
costs each server one probe, not one per caller, and no caller gets an answer from a round that
ended before it asked.
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


class DependencyCheck:
    """A service's CheckDependencies answer, with concurrent callers sharing one round of probes."""

    def __init__(self, probes: dict[str, Probe], timeout_s: float) -> None:
        self.probes = probes
        self.timeout_s = timeout_s
        self._running: asyncio.Future[dependencies_pb2.CheckDependenciesResponse] | None = None

    async def __call__(self) -> dependencies_pb2.CheckDependenciesResponse:
        if self._running is None:
            running = asyncio.ensure_future(check_all(self.probes, self.timeout_s))
            self._running = running
            running.add_done_callback(self._finished)
        # Shielded: a caller that gives up (its deadline passed) does not cancel the others' round.
        return await asyncio.shield(self._running)

    def _finished(self, running: asyncio.Future) -> None:
        if self._running is running:
            self._running = None
