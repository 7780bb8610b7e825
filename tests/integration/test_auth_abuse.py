"""Password guessing and sign-up abuse against limits small enough to reach in a test.

This module starts a second accounts process with low limits and a gateway in front of it; both use
the stack's Postgres and Redis (the counters are keyed by email digest and address, and every test
uses fresh ones, so the two accounts processes never share a counter). Each request names its
client address with X-Forwarded-For, which the gateway's uvicorn trusts from loopback."""

from __future__ import annotations

import httpx
import pytest

from tests.support.api import PASSWORD, assert_error_body, client_ip_headers, unique_email, wait_until_healthy
from tests.support.extra_apps import accounts_behind_a_gateway

PAIR_LIMIT = 3  # failures per email from one address, per minute
ADDRESS_LIMIT = 6  # failures per address, whatever the emails, per 15 minutes
EMAIL_LIMIT = 5  # failures per email from all addresses, per 15 minutes
SIGNUP_LIMIT = 3  # sign-ups per address, per hour
LIMITS = {
    "LOGIN_RATE_LIMIT": PAIR_LIMIT,
    "LOGIN_RATE_WINDOW_S": 60,
    "LOGIN_ADDRESS_RATE_LIMIT": ADDRESS_LIMIT,
    "LOGIN_ADDRESS_RATE_WINDOW_S": 900,
    "LOGIN_EMAIL_RATE_LIMIT": EMAIL_LIMIT,
    "LOGIN_EMAIL_RATE_WINDOW_S": 900,
    "SIGNUP_RATE_LIMIT": SIGNUP_LIMIT,
    "SIGNUP_RATE_WINDOW_S": 3600,
}
SIGNUP, LOGIN = "/api/auth/signup", "/api/auth/login"


@pytest.fixture(scope="module")
def limited_gateway(stack) -> str:
    """The base URL of a gateway whose accounts has the LIMITS above."""
    with accounts_behind_a_gateway(stack, "limited", {k: str(v) for k, v in LIMITS.items()}) as ports:
        yield f"http://127.0.0.1:{ports[1]}"


@pytest.fixture
async def api(limited_gateway):
    async with httpx.AsyncClient(base_url=limited_gateway, timeout=30) as client:
        yield client


async def sign_up(api, address: dict | None = None) -> str:
    email = unique_email("abuse")
    body = {"email": email, "name": "Abuse Test", "password": PASSWORD}
    response = await api.post(SIGNUP, json=body, headers=address or client_ip_headers())
    assert response.status_code == 201, response.text
    return email


async def log_in(api, email: str, address: dict, password: str = PASSWORD) -> httpx.Response:
    return await api.post(LOGIN, json={"email": email, "password": password}, headers=address)


async def fail(api, email: str, address: dict) -> None:
    response = await log_in(api, email, address, password="wrong password")
    assert_error_body(response, 401, "unauthenticated")


def assert_refused(response, reason: str, window_s: int) -> None:
    error = assert_error_body(response, 429, "resource_exhausted")
    assert reason in error["detail"], error
    assert 1 <= int(response.headers["retry-after"]) <= window_s


async def test_guessing_from_many_addresses_is_bounded_and_the_owner_still_logs_in(api):
    email = await sign_up(api)
    attackers = [client_ip_headers() for _ in range(EMAIL_LIMIT)]
    for address in attackers:
        await fail(api, email, address)

    # The email is over its ceiling: an address that failed for it is refused, right password or not ...
    assert_refused(await log_in(api, email, attackers[0]), "for this email", 900)
    # ... an address that has not failed still gets its one attempt, and is then refused too ...
    newcomer = client_ip_headers()
    await fail(api, email, newcomer)
    assert_refused(await log_in(api, email, newcomer, "another guess"), "for this email", 900)
    # ... and the owner, from an address that has not failed, logs in.
    owner = await log_in(api, email, client_ip_headers())
    assert owner.status_code == 200, owner.text


async def test_one_address_guessing_many_emails_is_refused(api):
    sprayer = client_ip_headers()
    for _ in range(ADDRESS_LIMIT):
        await fail(api, unique_email("sprayed"), sprayer)

    refused = await log_in(api, unique_email("sprayed"), sprayer)
    elsewhere = await log_in(api, unique_email("sprayed"), client_ip_headers())

    assert_refused(refused, "from your address", 900)
    assert_error_body(elsewhere, 401, "unauthenticated")


async def test_signups_are_limited_per_address(api, db):
    address = client_ip_headers()
    for _ in range(SIGNUP_LIMIT):
        await sign_up(api, address)

    email = unique_email("abuse")
    refused = await api.post(
        SIGNUP, json={"email": email, "name": "One Too Many", "password": PASSWORD}, headers=address
    )

    assert_refused(refused, "too many sign-ups from your address", 3600)
    assert db.execute("SELECT count(*) FROM accounts.users WHERE email = %s", (email,)).fetchone()[0] == 0
    await sign_up(api, client_ip_headers())


async def test_without_redis_logins_and_signups_are_503_and_work_again_after(api, stack):
    email = await sign_up(api)
    stack.stop_backing_server("redis")
    try:
        login = await log_in(api, email, client_ip_headers())
        signup = await api.post(
            SIGNUP,
            json={"email": unique_email("abuse"), "name": "No Redis", "password": PASSWORD},
            headers=client_ip_headers(),
        )
    finally:
        stack.restart_backing_server("redis")

    for response in (login, signup):
        assert_error_body(response, 503, "unavailable")
        assert response.headers["retry-after"]
    # A restarted Redis has lost the limiter's scripts; they are loaded again.
    await wait_until_healthy(api)
    again = await log_in(api, email, client_ip_headers())
    assert again.status_code == 200, again.text
