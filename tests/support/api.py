"""Helpers for the REST API tests: fresh users, brands and projects made through the real gateway,
and what every error answer looks like."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import time
import uuid

PASSWORD = "correct horse battery"  # noqa: S105 - a test password


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
    """A fresh signed-up and logged-in user: {"email", "password", "token", "headers", "id"}."""
    email = unique_email()
    response = await http.post(
        "/api/auth/signup",
        json={"email": email, "name": "Test User", "password": PASSWORD},
        headers=client_ip_headers(),
    )
    assert response.status_code == 201, response.text
    token = await log_in(http, email, PASSWORD)
    return {
        "email": email,
        "password": PASSWORD,
        "token": token,
        "headers": {"Authorization": f"Bearer {token}"},
        "id": response.json()["id"],
    }


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
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert {"code", "message", "request_id"} <= set(error)
    assert error["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    if code is not None:
        assert error["code"] == code
    return error


async def wait_until_healthy(http, path: str = "/api/health", timeout_s: float = 30) -> None:
    """After a fault test: the gateway's channels reconnect on their own; wait (bounded) until they have."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = await http.get(path)
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return
        await asyncio.sleep(0.2)
