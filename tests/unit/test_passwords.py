"""Pure logic of passwords: the Argon2 pools' slot accounting and the common-password policy."""

from __future__ import annotations

import asyncio
import threading

import pytest

from services.accounts.passwords import _Pool
from services.common.errors import ResourceExhausted
from services.common.password_policy import COMMON_PASSWORDS, REPEATED, TOO_COMMON, password_problem


async def _until(condition) -> None:
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


async def test_a_cancelled_caller_keeps_its_slot_until_its_work_ends():
    """A gRPC deadline cancels the caller, not the thread doing Argon2: the slot must stay taken
    until the thread is done, or more hashes run at once than the pool has slots."""
    pool = _Pool(1, 4, "busy")
    release = threading.Event()
    started: list[str] = []

    def work(name: str) -> str:
        started.append(name)
        release.wait(timeout=60)  # bounds a broken test, asserts nothing about time
        return name

    first = asyncio.create_task(pool.run(work, "first"))
    try:
        await _until(lambda: started == ["first"])
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        second = asyncio.create_task(pool.run(work, "second"))
        # Either it waits for the slot, or (the bug) it got one and started beside the first.
        await _until(lambda: pool._waiting == 1 or len(started) == 2)

        assert started == ["first"], "a second hash started while the first was still running"
        assert pool._slots.locked()
    finally:
        release.set()
    assert await second == "second"
    assert started == ["first", "second"]
    assert not pool._slots.locked()


async def test_past_the_waiting_bound_a_call_is_refused_at_once():
    pool = _Pool(1, 1, "busy now")
    release = threading.Event()
    running = asyncio.create_task(pool.run(release.wait, 60))
    waiting = asyncio.create_task(pool.run(release.wait, 60))
    await _until(lambda: pool._waiting == 1)

    with pytest.raises(ResourceExhausted, match="busy now"):
        await pool.run(release.wait, 60)
    release.set()
    assert await running and await waiting


@pytest.mark.parametrize(
    "password",
    ["password", "12345678", "PASSWORD", " password ", "Ｐａｓｓｗｏｒｄ", "qwerty123", "letmein1"],
)
def test_the_list_covers_common_passwords_in_any_case_width_or_padding(password):
    assert password_problem(password) == TOO_COMMON


@pytest.mark.parametrize("password", [" " * 8, "a" * 8, "\t" * 9, "7" * 20, "ÅÅÅÅÅÅÅÅ"])
def test_one_character_repeated_is_refused(password):
    assert password_problem(password) == REPEATED


@pytest.mark.parametrize(
    "password", ["correct horse battery", "pppppppq", "bench-Zx81_qP0vLm3Ta", "ein schöner Tag"]
)
def test_ordinary_passphrases_pass(password):
    assert password_problem(password) is None


def test_the_list_is_the_packaged_breach_list():
    assert len(COMMON_PASSWORDS) == 30000
    assert {"123456", "password", "12345678", "qwerty", "iloveyou"} <= COMMON_PASSWORDS
