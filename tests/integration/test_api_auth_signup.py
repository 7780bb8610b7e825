"""Sign-up (/api/auth/signup) through the real gateway and accounts service, and what every
failure of a request to /api/auth looks like. Login and sessions: test_api_auth_login.py; the
current user: test_api_auth_me.py."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from tests.support.api import (
    PASSWORD,
    assert_error_body,
    assert_validation_error,
    client_ip_headers,
    new_user,
    unique_email,
)
from tests.support.auth import LOGIN, ME, SIGNUP, USER_KEYS, assert_reveals_nothing

# --- sign-up ------------------------------------------------------------------------------------


async def test_signup_returns_the_new_user_without_the_hash(http, db, stack):
    local = f"Mixed.Case-{uuid.uuid4().hex[:8]}"
    response = await http.post(
        SIGNUP,
        json={"email": f"  {local}@Example.COM \t", "name": "Ada Lovelace", "password": PASSWORD},
        headers=client_ip_headers(),
    )

    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == USER_KEYS
    assert user["email"] == f"{local.lower()}@example.com"
    assert user["name"] == "Ada Lovelace"
    assert user["subscription_tier"] == "free"
    assert user["credits"] == int(stack.env.get("STARTING_CREDITS", 0))
    assert user["free_videos_used"] == 0
    assert uuid.UUID(user["id"])
    assert datetime.fromisoformat(user["created_at"]) <= datetime.now(UTC)
    assert_reveals_nothing(response, PASSWORD)

    email, password_hash = db.execute(
        "SELECT email, password_hash FROM accounts.users WHERE id = %s", (user["id"],)
    ).fetchone()
    assert email == user["email"]
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash


@pytest.mark.parametrize(
    ("name", "password"),
    [("x", "p" * 7 + "q"), ("n" * 100, "pq" * 64)],
    ids=["shortest", "longest"],
)
async def test_signup_accepts_the_length_limits(http, name, password):
    response = await http.post(
        SIGNUP,
        json={"email": unique_email(), "name": name, "password": password},
        headers=client_ip_headers(),
    )

    assert response.status_code == 201, response.text
    assert response.json()["name"] == name


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "body.email"),
        ({"email": "two@@example.com"}, "body.email"),
        ({"email": "spaces in@example.com"}, "body.email"),
        ({"email": ""}, "body.email"),
        ({"name": ""}, "body.name"),
        ({"name": "n" * 101}, "body.name"),
        ({"password": "p" * 7}, "body.password"),
        ({"password": "p" * 129}, "body.password"),
        ({"name": 42}, "body.name"),
        ({"password": ["not", "a", "string"]}, "body.password"),
        ({"email": None}, "body.email"),
        ({"is_admin": True}, "body.is_admin"),
        ({"subscription_tier": "enterprise"}, "body.subscription_tier"),
    ],
)
async def test_signup_rejects_bad_fields(http, change, field):
    body = {"email": unique_email(), "name": "Bad Input", "password": PASSWORD} | change

    response = await http.post(SIGNUP, json=body)

    assert_validation_error(response, field)
    assert_reveals_nothing(response, PASSWORD, "p" * 7)


async def test_nul_characters_are_422_not_500(http):
    user = await new_user(http)

    name = await http.post(SIGNUP, json={"email": unique_email(), "name": "a\x00b", "password": PASSWORD})
    email = await http.post(SIGNUP, json={"email": "a\x00b@example.com", "name": "Nul", "password": PASSWORD})
    login = await http.post(
        LOGIN, json={"email": "a\x00b@example.com", "password": PASSWORD}, headers=client_ip_headers()
    )
    rename = await http.patch(ME, json={"name": "x\x00"}, headers=user["headers"])

    assert_error_body(name, 422)
    assert "name" in name.json()["detail"]
    assert_validation_error(email, "body.email")
    assert_validation_error(login, "body.email")
    assert_error_body(rename, 422)
    assert "name" in rename.json()["detail"]
    assert (await http.get(ME, headers=user["headers"])).json()["name"] == "Test User"


@pytest.mark.parametrize("missing", ["email", "name", "password"])
async def test_signup_needs_every_field(http, missing):
    body = {"email": unique_email(), "name": "Incomplete", "password": PASSWORD}
    del body[missing]

    assert_validation_error(await http.post(SIGNUP, json=body), f"body.{missing}")


async def test_signup_rejects_a_name_of_only_spaces(http):
    response = await http.post(SIGNUP, json={"email": unique_email(), "name": "   ", "password": PASSWORD})

    assert_validation_error(response)


async def test_signup_with_a_taken_email_in_any_case_is_409(http):
    email = unique_email()
    first = await http.post(
        SIGNUP, json={"email": email, "name": "First", "password": PASSWORD}, headers=client_ip_headers()
    )
    assert first.status_code == 201, first.text

    for taken in (email, email.upper(), f"  {email.title()} "):
        response = await http.post(
            SIGNUP,
            json={"email": taken, "name": "Second", "password": "other-pass"},
            headers=client_ip_headers(),
        )
        error = assert_error_body(response, 409)
        assert "already exists" in error["detail"]


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password", "too common"),
        ("12345678", "too common"),
        ("PassWord", "too common"),
        (" qwertyuiop ", "too common"),
        ("iloveyou", "too common"),
        (" " * 8, "repeated"),
        ("a" * 12, "repeated"),
    ],
)
async def test_signup_refuses_common_passwords_and_says_why(http, password, why):
    response = await http.post(
        SIGNUP,
        json={"email": unique_email(), "name": "Common", "password": password},
        headers=client_ip_headers(),
    )

    details = assert_validation_error(response, "body.password")
    [message] = [d["message"] for d in details if d["field"] == "body.password"]
    assert why in message and "choose another" in message
    if why == "too common":
        assert "breached passwords" in message


# --- bad requests -------------------------------------------------------------------------------


async def test_malformed_json_is_422_with_where_and_why(http):
    response = await http.post(
        SIGNUP,
        content=b'{"email": "a@example.com", "password": "secret-pass-1",',
        headers={"Content-Type": "application/json"},
    )

    details = assert_validation_error(response)
    assert details and details[0]["field"].startswith("body")
    assert "json" in details[0]["message"].lower()
    assert_reveals_nothing(response, "secret-pass-1")


async def test_a_body_that_is_not_an_object_is_422(http):
    response = await http.post(SIGNUP, json=["a@example.com", "name", PASSWORD])

    assert_validation_error(response, "body")
    assert_reveals_nothing(response, PASSWORD)


async def test_a_body_over_one_megabyte_is_413(http):
    body = json.dumps({"email": unique_email(), "name": "Big", "password": "p" * (1024 * 1024)})

    response = await http.post(SIGNUP, content=body, headers={"Content-Type": "application/json"})

    assert_error_body(response, 413, "payload_too_large")
    assert len(response.content) < 1000


async def test_errors_never_echo_the_password_that_was_sent(http):
    # A password over 128 characters is rejected: its value must not come back in the details.
    secret = "my-secret-" * 20
    response = await http.post(SIGNUP, json={"email": unique_email(), "name": "Echo", "password": secret})

    details = assert_validation_error(response, "body.password")
    assert all(set(d) == {"field", "message"} for d in details)
    assert_reveals_nothing(response, secret, "my-secret-")
