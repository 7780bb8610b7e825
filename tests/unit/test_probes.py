"""CheckDependencies' probes (services/common/probes.py): concurrent callers share one round of
probes, later callers get a round of their own, and one caller giving up cancels nobody else's."""

from __future__ import annotations

import asyncio

import pytest

from services.common.probes import DependencyCheck


class CountingProbe:
    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self) -> None:
        self.calls += 1
        await self.release.wait()


async def test_callers_that_arrive_during_a_round_share_it():
    probe = CountingProbe()
    check = DependencyCheck({"postgres": probe}, timeout_s=5)
    callers = [asyncio.ensure_future(check()) for _ in range(10)]
    await asyncio.sleep(0)
    probe.release.set()
    answers = await asyncio.gather(*callers)
    assert probe.calls == 1
    assert all(a.dependencies[0].ok for a in answers)


async def test_a_caller_after_a_round_ended_gets_a_new_round():
    probe = CountingProbe()
    probe.release.set()
    check = DependencyCheck({"postgres": probe}, timeout_s=5)
    await check()
    await check()
    assert probe.calls == 2


async def test_a_caller_that_gives_up_does_not_cancel_the_round_for_the_others():
    probe = CountingProbe()
    check = DependencyCheck({"postgres": probe}, timeout_s=5)
    impatient = asyncio.ensure_future(check())
    patient = asyncio.ensure_future(check())
    await asyncio.sleep(0)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    probe.release.set()
    assert (await patient).dependencies[0].ok


async def test_a_failing_probe_is_reported_to_every_caller_that_shared_it():
    async def down() -> None:
        raise ConnectionRefusedError("connection refused")

    check = DependencyCheck({"redis": down}, timeout_s=5)
    answers = await asyncio.gather(check(), check())
    assert [(a.dependencies[0].ok, a.dependencies[0].detail) for a in answers] == [
        (False, "ConnectionRefusedError: connection refused")
    ] * 2
