"""/api/auth as tests use it: its paths, tokens and their digests, failed logins, and the answers
expected when a request is refused."""

from __future__ import annotations

import hashlib
from datetime import datetime

from tests.support.api import PASSWORD, assert_error_body

SIGNUP = "/api/auth/signup"
LOGIN = "/api/auth/login"
LOGOUT = "/api/auth/logout"
ME = "/api/auth/me"
USER_KEYS = {"id", "email", "name", "subscription_tier", "credits", "free_videos_used", "created_at"}


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response) -> dict:
    error = assert_error_body(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    return error


def assert_reveals_nothing(response, *secrets: str) -> None:
    text = response.text
    for secret in secrets:
        assert secret not in text
    assert "$argon2" not in text
    assert "Traceback" not in text
    assert "password_hash" not in text


def session_rows(db, user_id: str) -> list[tuple[str, datetime]]:
    return db.execute(
        "SELECT token, expires_at FROM accounts.sessions WHERE user_id = %s", (user_id,)
    ).fetchall()


def login_rate_limit(stack) -> int:
    return int(stack.env.get("LOGIN_RATE_LIMIT", 5))


def assert_rate_limited(response, reason: str, window_s: int) -> None:
    error = assert_error_body(response, 429, "resource_exhausted")
    assert reason in error["detail"], error
    assert 1 <= int(response.headers["retry-after"]) <= window_s


async def fail_login(http, email: str, headers: dict) -> None:
    response = await http.post(LOGIN, json={"email": email, "password": "wrong password"}, headers=headers)
    assert_unauthorized(response)


async def login_from(http, email: str, headers: dict):
    return await http.post(LOGIN, json={"email": email, "password": PASSWORD}, headers=headers)
