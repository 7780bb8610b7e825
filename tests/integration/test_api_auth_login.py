"""Login and sessions through the real gateway and accounts service: bearer tokens stored as
digests, the limits on failed logins, logout, and tokens that are missing, malformed or expired."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.api import (
    PASSWORD,
    assert_validation_error,
    client_ip_headers,
    log_in,
    new_user,
    unique_email,
)
from tests.support.auth import (
    LOGIN,
    LOGOUT,
    ME,
    SIGNUP,
    assert_rate_limited,
    assert_reveals_nothing,
    assert_unauthorized,
    bearer,
    fail_login,
    login_from,
    login_rate_limit,
    session_rows,
    sha256,
)

# --- login ----------------------------------------------------------------------------------------


async def test_login_gives_a_bearer_token_whose_digest_alone_is_stored(http, db):
    user = await new_user(http)
    before = datetime.now(UTC)

    response = await http.post(
        LOGIN,
        json={"email": f" {user['email'].upper()} ", "password": PASSWORD},
        headers=client_ip_headers(),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_at"}
    assert body["token_type"] == "bearer"
    token = body["access_token"]
    assert len(token) >= 43  # 256 random bits, base64url
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=7) - timedelta(minutes=5) < expires_at - before < timedelta(days=7, minutes=5)

    rows = session_rows(db, user["id"])
    # One session per login: new_user's and this one.
    assert len(rows) == 2
    stored = {row[0]: row[1] for row in rows}
    assert sha256(token) in stored
    assert abs(stored[sha256(token)] - expires_at) < timedelta(seconds=1)
    assert token not in stored and user["token"] not in stored
    assert db.execute("SELECT count(*) FROM accounts.sessions WHERE token = %s", (token,)).fetchone()[0] == 0

    me = await http.get(ME, headers=bearer(token))
    assert me.status_code == 200 and me.json()["id"] == user["id"]


async def test_wrong_password_and_unknown_email_fail_alike(http):
    user = await new_user(http)

    wrong_password = await http.post(
        LOGIN, json={"email": user["email"], "password": "not the password"}, headers=client_ip_headers()
    )
    unknown_email = await http.post(
        LOGIN, json={"email": unique_email("nobody"), "password": PASSWORD}, headers=client_ip_headers()
    )

    first = assert_unauthorized(wrong_password)
    second = assert_unauthorized(unknown_email)
    assert (first["code"], first["detail"]) == (second["code"], second["detail"])
    assert_reveals_nothing(wrong_password, "not the password")
    assert_reveals_nothing(unknown_email, PASSWORD)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "nope", "password": PASSWORD}, "body.email"),
        ({"email": "a@example.com", "password": ""}, "body.password"),
        ({"email": "a@example.com"}, "body.password"),
        ({"email": "a@example.com", "password": 12345678}, "body.password"),
        ({"email": "a@example.com", "password": PASSWORD, "remember": True}, "body.remember"),
    ],
)
async def test_login_rejects_bad_fields(http, body, field):
    response = await http.post(LOGIN, json=body, headers=client_ip_headers())

    assert_validation_error(response, field)
    assert_reveals_nothing(response, PASSWORD)


async def test_failed_logins_are_limited_per_email_and_address(http, stack):
    user = await new_user(http)
    here = client_ip_headers()
    for _ in range(login_rate_limit(stack)):
        await fail_login(http, user["email"], here)

    # Over the limit even the right password is refused from there, before it is checked ...
    refused = await login_from(http, user["email"].upper(), here)
    # ... while the same password from an address that has not failed logs in.
    elsewhere = await login_from(http, user["email"], client_ip_headers())

    assert_rate_limited(
        refused, "for this email from your address", int(stack.env.get("LOGIN_RATE_WINDOW_S", 60))
    )
    assert elsewhere.status_code == 200, elsewhere.text


async def test_failures_from_other_addresses_do_not_lock_the_owner_out(http, stack):
    """Issue 9's case: six wrong passwords for a victim's email, from six addresses, made the
    victim's own correct login 429 for a minute."""
    user = await new_user(http)
    for _ in range(login_rate_limit(stack) + 1):
        await fail_login(http, user["email"], client_ip_headers())

    response = await login_from(http, user["email"], client_ip_headers())

    assert response.status_code == 200, response.text


async def test_successes_do_not_count_and_forget_the_address_failures(http, stack):
    user = await new_user(http)
    here = client_ip_headers()
    limit = login_rate_limit(stack)
    for _ in range(limit + 1):
        assert (await login_from(http, user["email"], here)).status_code == 200
    for _ in range(limit - 1):
        await fail_login(http, user["email"], here)
    assert (await login_from(http, user["email"], here)).status_code == 200

    # The success reset this address's count for the email: as many failures again are still 401.
    for _ in range(limit - 1):
        await fail_login(http, user["email"], here)
    assert (await login_from(http, user["email"], here)).status_code == 200


async def test_a_flood_of_signups_does_not_starve_logins(http, gateway_url):
    """Sign-ups and logins hash in separate pools: while sign-ups are being turned away because
    hashing is saturated, a login is still checked (before: 60 concurrent sign-ups made it 429)."""
    user = await new_user(http)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30, limits=limits) as flood:

        async def sign_up() -> httpx.Response:
            body = {"email": unique_email("flood"), "name": "Flood", "password": PASSWORD}
            return await flood.post(SIGNUP, json=body, headers=client_ip_headers())

        signups = [asyncio.create_task(sign_up()) for _ in range(60)]
        saturated = False
        for next_done in asyncio.as_completed(signups):
            if (await next_done).status_code == 429:
                saturated = True
                break
        login = await login_from(http, user["email"], client_ip_headers())
        answers = await asyncio.gather(*signups)

    assert saturated, [a.status_code for a in answers]
    assert login.status_code == 200, login.text
    statuses = {a.status_code for a in answers}
    # 503 only if one waited past the gateway's deadline on a very busy machine; never a 500.
    assert statuses <= {201, 429, 503}, statuses
    for answer in answers:
        if answer.status_code == 429:
            assert "too many passwords being set" in answer.json()["detail"]
            assert answer.headers["retry-after"] == "1"


# --- logout and tokens ----------------------------------------------------------------------------


async def test_logout_revokes_the_token_at_once(http, db):
    user = await new_user(http)
    other_token = await log_in(http, user["email"], PASSWORD)

    response = await http.post(LOGOUT, headers=user["headers"])

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_unauthorized(await http.get(ME, headers=user["headers"]))
    assert_unauthorized(await http.post(LOGOUT, headers=user["headers"]))
    assert [row[0] for row in session_rows(db, user["id"])] == [sha256(other_token)]
    # Only that session ended.
    assert (await http.get(ME, headers=bearer(other_token))).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Token not-for-this-scheme",
        "Bearer " + "a" * 600,
        "Bearer not-a-token-anyone-was-given",
    ],
    ids=["missing", "empty", "no-token", "basic", "other-scheme", "oversized", "unknown"],
)
@pytest.mark.parametrize(("method", "path"), [("GET", ME), ("PATCH", ME), ("DELETE", ME), ("POST", LOGOUT)])
async def test_missing_or_malformed_token_is_401(http, authorization, method, path):
    headers = {} if authorization is None else {"Authorization": authorization}

    response = await http.request(method, path, headers=headers, json={} if method == "PATCH" else None)

    assert_unauthorized(response)
    if token := (authorization or "").partition(" ")[2].strip():
        assert_reveals_nothing(response, token)


async def test_expired_token_is_401(http, db):
    user = await new_user(http)
    db.execute(
        "UPDATE accounts.sessions SET expires_at = now() - interval '1 second' WHERE token = %s",
        (sha256(user["token"]),),
    )

    response = await http.get(ME, headers=user["headers"])

    assert_unauthorized(response)
    assert_reveals_nothing(response, user["token"], sha256(user["token"]))
