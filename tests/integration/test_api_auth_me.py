"""The current user (/api/auth/me) through the real gateway and accounts service: shown, renamed,
given a new password (which needs the current one, is limited like a login and ends every other
session), and deleted."""

from __future__ import annotations

import pytest

from tests.support.api import (
    PASSWORD,
    assert_error_body,
    assert_validation_error,
    client_ip_headers,
    log_in,
    new_user,
)
from tests.support.auth import (
    LOGIN,
    ME,
    SIGNUP,
    USER_KEYS,
    assert_rate_limited,
    assert_reveals_nothing,
    assert_unauthorized,
    bearer,
    login_from,
    login_rate_limit,
    session_rows,
    sha256,
)


async def test_me_shows_the_current_user(http):
    user = await new_user(http)

    response = await http.get(ME, headers=user["headers"])

    assert response.status_code == 200, response.text
    me = response.json()
    assert set(me) == USER_KEYS
    assert (me["id"], me["email"], me["name"]) == (user["id"], user["email"], "Test User")
    assert me["subscription_tier"] == "free"
    assert me["free_videos_used"] == 0
    assert_reveals_nothing(response, PASSWORD, user["token"])


async def test_patch_me_changes_the_name(http):
    user = await new_user(http)

    response = await http.patch(ME, json={"name": "Grace Hopper"}, headers=user["headers"])

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Grace Hopper"
    assert (await http.get(ME, headers=user["headers"])).json()["name"] == "Grace Hopper"


async def test_patch_me_with_nothing_to_change_keeps_the_user(http):
    user = await new_user(http)

    response = await http.patch(ME, json={}, headers=user["headers"])

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Test User"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "body.name"),
        ({"name": "n" * 101}, "body.name"),
        ({"name": 7}, "body.name"),
        ({"new_password": "short", "current_password": PASSWORD}, "body.new_password"),
        ({"new_password": "p" * 129, "current_password": PASSWORD}, "body.new_password"),
        ({"new_password": "a long new password"}, "body"),
        ({"email": "new@example.com"}, "body.email"),
        ({"subscription_tier": "pro"}, "body.subscription_tier"),
        ({"credits": 1000}, "body.credits"),
    ],
)
async def test_patch_me_rejects_bad_fields(http, body, field):
    user = await new_user(http)

    response = await http.patch(ME, json=body, headers=user["headers"])

    assert_validation_error(response, field)
    assert_reveals_nothing(response, PASSWORD, "a long new password")
    me = (await http.get(ME, headers=user["headers"])).json()
    assert (me["name"], me["email"], me["credits"]) == ("Test User", user["email"], 0)


async def test_changing_the_password_needs_the_current_one(http):
    user = await new_user(http)
    other_token = await log_in(http, user["email"], PASSWORD)

    response = await http.patch(
        ME,
        json={"name": "Renamed", "current_password": "not my password", "new_password": "brand new password"},
        headers=user["headers"] | client_ip_headers(),
    )

    error = assert_error_body(response, 403, "permission_denied")
    assert "current_password" in error["detail"]
    assert_reveals_nothing(response, "not my password", "brand new password")
    # Nothing changed: not the name, not the password, no session ended.
    assert (await http.get(ME, headers=user["headers"])).json()["name"] == "Test User"
    assert (await http.get(ME, headers=bearer(other_token))).status_code == 200
    await log_in(http, user["email"], PASSWORD)


async def test_wrong_current_passwords_are_limited_like_failed_logins(http, stack):
    user = await new_user(http)
    here = user["headers"] | client_ip_headers()
    change = {"current_password": "not my password", "new_password": "brand new password"}
    for _ in range(login_rate_limit(stack)):
        assert_error_body(await http.patch(ME, json=change, headers=here), 403, "permission_denied")

    window = int(stack.env.get("LOGIN_RATE_WINDOW_S", 60))
    # Refused before the password is checked, even the right one ...
    refused = await http.patch(ME, json=change | {"current_password": PASSWORD}, headers=here)
    assert_rate_limited(refused, "for this email from your address", window)
    # ... and it is the login's count: that address can't log in to the account either ...
    address_only = {"X-Forwarded-For": here["X-Forwarded-For"]}
    assert_rate_limited(await login_from(http, user["email"], address_only), "for this email", window)
    # ... while from another address the owner changes the password.
    elsewhere = user["headers"] | client_ip_headers()
    changed = await http.patch(ME, json=change | {"current_password": PASSWORD}, headers=elsewhere)
    assert changed.status_code == 200, changed.text
    await log_in(http, user["email"], "brand new password")


async def test_a_new_password_that_is_common_is_refused(http):
    user = await new_user(http)

    response = await http.patch(
        ME, json={"current_password": PASSWORD, "new_password": "12345678"}, headers=user["headers"]
    )

    details = assert_validation_error(response, "body.new_password")
    assert any("too common" in d["message"] for d in details)
    await log_in(http, user["email"], PASSWORD)


async def test_changing_the_password_ends_every_other_session(http, db):
    user = await new_user(http)
    other_tokens = [await log_in(http, user["email"], PASSWORD) for _ in range(2)]
    new_password = "a much better password"

    response = await http.patch(
        ME, json={"current_password": PASSWORD, "new_password": new_password}, headers=user["headers"]
    )

    assert response.status_code == 200, response.text
    assert_reveals_nothing(response, PASSWORD, new_password)
    for token in other_tokens:
        assert_unauthorized(await http.get(ME, headers=bearer(token)))
    assert (await http.get(ME, headers=user["headers"])).status_code == 200
    assert [row[0] for row in session_rows(db, user["id"])] == [sha256(user["token"])]

    old = await http.post(
        LOGIN, json={"email": user["email"], "password": PASSWORD}, headers=client_ip_headers()
    )
    assert_unauthorized(old)
    await log_in(http, user["email"], new_password)


async def test_delete_me_deletes_the_account(http, db):
    user = await new_user(http)
    other_token = await log_in(http, user["email"], PASSWORD)

    response = await http.delete(ME, headers=user["headers"])

    assert response.status_code == 204, response.text
    assert_unauthorized(await http.get(ME, headers=user["headers"]))
    assert_unauthorized(await http.get(ME, headers=bearer(other_token)))
    login = await http.post(
        LOGIN, json={"email": user["email"], "password": PASSWORD}, headers=client_ip_headers()
    )
    assert_unauthorized(login)
    assert db.execute("SELECT count(*) FROM accounts.users WHERE id = %s", (user["id"],)).fetchone()[0] == 0
    assert session_rows(db, user["id"]) == []
    # The email is free again.
    again = await http.post(
        SIGNUP,
        json={"email": user["email"], "name": "Back", "password": PASSWORD},
        headers=client_ip_headers(),
    )
    assert again.status_code == 201, again.text
