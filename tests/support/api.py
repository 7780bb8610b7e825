"""Helpers for the REST API tests: fresh users, brands and projects made through the real gateway,
and what every error answer looks like."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import ipaddress
import secrets
import time
import uuid

import psycopg
from argon2 import PasswordHasher

PASSWORD = "correct horse battery"  # noqa: S105 - a test password

# The database behind each gateway the tests start (base URL -> DATABASE_URL), registered by the
# fixtures that start them. new_user writes its user and session there: a sign-up and a login cost
# two Argon2 runs (0.3 s of CPU), hundreds of times a run, in tests about something else. Sign-up
# and login themselves are tested through the gateway (tests/integration/test_api_auth_*.py).
_databases: dict[str, str] = {}


def register_database(gateway_url: str, database_url: str) -> None:
    _databases[gateway_url.rstrip("/")] = database_url


def client_ip_headers() -> dict[str, str]:
    """An X-Forwarded-For naming a fresh client address. The gateway's uvicorn trusts it from
    127.0.0.1 (its default), so each sign-up or login counts against its own per-address rate
    limits rather than the ones every test shares."""
    address = ipaddress.IPv4Address((10 << 24) | secrets.randbits(24))
    return {"X-Forwarded-For": str(address)}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


async def log_in(http, email: str, password: str) -> str:
    response = await http.post(
        "/api/auth/login", json={"email": email, "password": password}, headers=client_ip_headers()
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def new_user(http) -> dict:
    """A fresh user with a session of its own, as sign-up and login make them:
    {"email", "password", "token", "headers", "id"}. Written to the gateway's database when the
    tests started that gateway (see register_database), else signed up and logged in through it."""
    email = unique_email()
    database_url = _databases.get(str(http.base_url).rstrip("/"))
    if database_url is None:
        user_id, token = await _sign_up_and_log_in(http, email)
    else:
        user_id, token = _write_user(database_url, email)
    return {
        "email": email,
        "password": PASSWORD,
        "token": token,
        "headers": {"Authorization": f"Bearer {token}"},
        "id": user_id,
    }


async def _sign_up_and_log_in(http, email: str) -> tuple[str, str]:
    response = await http.post(
        "/api/auth/signup",
        json={"email": email, "name": "Test User", "password": PASSWORD},
        headers=client_ip_headers(),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], await log_in(http, email, PASSWORD)


@functools.cache
def _password_hash() -> str:
    """PASSWORD hashed as accounts hashes passwords (Argon2id, argon2-cffi's defaults), once."""
    return PasswordHasher().hash(PASSWORD)


def _write_user(database_url: str, email: str) -> tuple[str, str]:
    """The rows sign-up and login write: the user, and a session storing its token's SHA-256."""
    token = secrets.token_urlsafe(32)
    with psycopg.connect(database_url, autocommit=True) as db:
        user_id = db.execute(
            "INSERT INTO accounts.users (email, name, password_hash) VALUES (%s, 'Test User', %s) RETURNING id",
            (email, _password_hash()),
        ).fetchone()[0]
        db.execute(
            "INSERT INTO accounts.sessions (user_id, token, expires_at) VALUES (%s, %s, now() + interval '7 days')",
            (user_id, hashlib.sha256(token.encode()).hexdigest()),
        )
    return str(user_id), token


async def new_brand(http, headers: dict, **fields) -> dict:
    """A brand of the user behind headers; fields (title, description, ...) override the defaults."""
    body = {"title": "Acme Sparkling Water", **fields}
    response = await http.post("/api/brands", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def new_project(http, headers: dict, brand_id: str) -> dict:
    response = await http.post("/api/projects", json={"brand_id": brand_id}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def assert_error_body(response, status: int, code: str | None = None) -> dict:
    """The RFC 9457 problem document every error is (services/gateway/errors.py)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail", "instance", "code", "request_id"} <= set(problem)
    assert problem["status"] == status
    assert problem["type"] == f"/problems/{problem['code']}"
    assert problem["instance"] == response.request.url.raw_path.decode().partition("?")[0]
    assert problem["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    if status == 422:
        assert isinstance(problem["errors"], list)
    if code is not None:
        assert problem["code"] == code
    return problem


def assert_validation_error(response, field: str | None = None) -> list[dict]:
    """422 with where and why; `field` is the dotted location that must be among the details."""
    error = assert_error_body(response, 422)
    if field is None:
        return error.get("errors", [])
    details = error["errors"]
    assert all(d["message"] for d in details), details
    assert field in [d["field"] for d in details], details
    return details


async def wait_until(check, what: str, timeout_s: float = 60, every_s: float = 0.2):
    """Until the async check() is truthy (its value); fails naming `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while not (value := await check()):
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f} s waiting for {what}"
        await asyncio.sleep(every_s)
    return value


async def wait_until_healthy(http, path: str = "/api/health", timeout_s: float = 30) -> None:
    """After a fault test: the gateway's channels reconnect on their own; wait (bounded) until they have."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = await http.get(path)
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return
        await asyncio.sleep(0.2)
