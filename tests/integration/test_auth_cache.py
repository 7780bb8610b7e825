"""The gateway's Authenticate cache (services/gateway/auth_cache.py): a revoked token stops working
within a second on every gateway process, because accounts pushes the revocation; and while a
gateway is not watching revocations (accounts down or restarted), it trusts nothing it cached.

The second gateway keeps replies for 60 s, so only a pushed revocation can end a token in time there.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from services.gateway.auth_cache import token_digest
from tests.support.api import PASSWORD, log_in, new_user, wait_until_healthy
from tests.support.extra_apps import another_gateway

# Revocation must reach every gateway "within a second"; the poll stops there.
REVOCATION_BOUND_S = 1.0
WATCHING = "auth cache on: watching revocations"


def _times_logged(process, text: str) -> int:
    if not process.log_file.exists():  # not written yet
        return 0
    return process.log_file.read_text(errors="replace").count(text)


async def _wait_for_log(process, text: str, times: int = 1, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while _times_logged(process, text) < times:
        assert time.monotonic() < deadline, f"{process.name} never logged {text!r}"
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
def second_gateway(stack):
    with another_gateway(stack, "cached", {"AUTH_CACHE_TTL_S": "60"}) as (port, process):
        yield f"http://127.0.0.1:{port}", process


@pytest.fixture
async def cached(second_gateway):
    url, process = second_gateway
    await _wait_for_log(process, WATCHING)
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client


async def _status(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get("/api/brands", headers={"Authorization": f"Bearer {token}"})).status_code


async def _cache(client: httpx.AsyncClient, token: str) -> None:
    for _ in range(2):  # the first asks accounts and keeps the reply; the second is served from it
        assert await _status(client, token) == 200


async def _refused_within_bound(clients: list[httpx.AsyncClient], token: str) -> None:
    deadline = time.monotonic() + REVOCATION_BOUND_S
    pending = list(clients)
    while pending:
        pending = [c for c in pending if await _status(c, token) != 401]
        if pending:
            assert time.monotonic() < deadline, f"still accepted {REVOCATION_BOUND_S:g} s after revocation"
            await asyncio.sleep(0.05)


async def test_authenticate_replies_are_reused(db, cached, http):
    # A session deleted behind accounts' back (no revocation pushed) proves the reply was cached.
    user = await new_user(http)
    await _cache(cached, user["token"])
    db.execute("DELETE FROM accounts.sessions WHERE token = %s", (token_digest(user["token"]),))
    assert await _status(cached, user["token"]) == 200
    assert await _status(http, user["token"]) == 401  # the stack's gateway keeps replies for 2 s at most


async def test_logout_ends_the_token_on_every_gateway_within_a_second(http, cached):
    user = await new_user(http)
    await _cache(cached, user["token"])
    await _cache(http, user["token"])
    assert (await http.post("/api/auth/logout", headers=user["headers"])).status_code == 204
    await _refused_within_bound([http, cached], user["token"])


async def test_a_password_change_ends_the_other_sessions_within_a_second(http, cached):
    user = await new_user(http)
    other_session = await log_in(http, user["email"], PASSWORD)
    await _cache(cached, other_session)
    await _cache(cached, user["token"])
    changed = await http.patch(
        "/api/auth/me",
        headers=user["headers"],
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase 42"},
    )
    assert changed.status_code == 200, changed.text
    await _refused_within_bound([cached, http], other_session)
    assert await _status(cached, user["token"]) == 200  # the session that changed it stays


async def test_deleting_the_user_ends_its_tokens_within_a_second(http, cached):
    user = await new_user(http)
    await _cache(cached, user["token"])
    assert (await http.delete("/api/auth/me", headers=user["headers"])).status_code == 204
    await _refused_within_bound([cached, http], user["token"])


async def test_nothing_cached_is_trusted_while_revocations_are_not_watched(
    stack, db, http, cached, second_gateway
):
    user = await new_user(http)
    await _cache(cached, user["token"])
    _url, process = second_gateway
    subscriptions = _times_logged(process, WATCHING)
    stack.stop_app("accounts")
    try:
        # Accounts is down: the cached reply must not stand in for it.
        assert await _status(cached, user["token"]) == 503
        # A revocation the gateway cannot hear about while accounts is down.
        db.execute("DELETE FROM accounts.sessions WHERE token = %s", (token_digest(user["token"]),))
    finally:
        stack.start_app("accounts")
    await wait_until_healthy(http, "/api/health/accounts")
    # Before and after the gateway subscribes again, the token is refused: nothing stale survived
    # (503 while its channel to accounts reconnects, never 200).
    statuses = [await _status(cached, user["token"])]
    while statuses[-1] == 503 and len(statuses) < 200:
        await asyncio.sleep(0.05)
        statuses.append(await _status(cached, user["token"]))
    assert statuses[-1] == 401 and 200 not in statuses, statuses
    await _wait_for_log(process, WATCHING, times=subscriptions + 1)
    assert await _status(cached, user["token"]) == 401
