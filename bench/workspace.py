"""The accounts/workspace API scenarios' fixtures, made through the gateway like any client: bench
users, logins that each count as a real one under the login rate limits, a user with 20 brands (a
few with a product image), and the cleanup that deletes every bench user again."""

from __future__ import annotations

import asyncio
import ipaddress
import math
import secrets
import struct
import uuid
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from bench.load import CallFailed
from bench.target import BenchError

SIGNUP, LOGIN, ME, BRANDS = "/api/auth/signup", "/api/auth/login", "/api/auth/me", "/api/brands"
# RFC 2544's range for benchmarks: the addresses only ever appear in a header, never as a destination.
FORWARDED_NETWORK = ipaddress.IPv4Network("198.18.0.0/15")
SETUP_CONCURRENCY = 4  # sign-ups and deletions at once: Argon2 hashing is CPU-bound, and there are few cores


def describe(response: httpx.Response) -> str:
    """`HTTP 429 too_many_requests: ...` from the API's error body (or the start of whatever came)."""
    try:
        error = response.json()
        return f"HTTP {response.status_code} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:200]}"


class ForwardedFor:
    """A new client address for every request. The gateway's uvicorn trusts X-Forwarded-For from
    127.0.0.1, so each sign-up and login counts against its own per-address limits rather than one
    the bench shares."""

    def __init__(self) -> None:
        self._next = secrets.randbelow(FORWARDED_NETWORK.num_addresses)

    def __call__(self) -> dict[str, str]:
        self._next = (self._next + 1) % FORWARDED_NETWORK.num_addresses
        return {"X-Forwarded-For": str(FORWARDED_NETWORK[self._next])}


@dataclass
class BenchUser:
    email: str
    attempts: int = 0  # logins tried, each counted by the per-email rate limit
    token: str | None = None  # from the latest successful login

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class BenchUsers:
    """Users made for this run. No email is tried more often than the per-email login limit, so
    every login the bench sends is verified for real rather than refused by the limiter."""

    def __init__(self, client: httpx.AsyncClient, logins_per_email: int):
        self.client = client
        self.logins_per_email = logins_per_email
        self.password = f"bench-{secrets.token_urlsafe(12)}"
        self.run_id = uuid.uuid4().hex[:10]
        self.forwarded_for = ForwardedFor()
        self.login_pool: list[BenchUser] = []
        self.owners: list[BenchUser] = []
        self._turn = 0

    @property
    def all(self) -> list[BenchUser]:
        return self.owners + self.login_pool

    def users_for(self, logins: int) -> int:
        return math.ceil(logins / self.logins_per_email)

    async def sign_up_login_pool(self, logins: int) -> None:
        """Enough users for `logins` logins within the rate limit."""
        start = len(self.login_pool)
        users = [
            BenchUser(f"bench-{self.run_id}-{start + i}@example.com") for i in range(self.users_for(logins))
        ]
        await self._each(users, self._sign_up, into=self.login_pool)

    async def new_owner(self) -> BenchUser:
        """A signed-up, logged-in user to own brands."""
        user = BenchUser(f"bench-{self.run_id}-owner-{len(self.owners)}@example.com")
        await self._sign_up(user, into=self.owners)
        try:
            await self.log_in(self.client, user)
        except CallFailed as exc:
            raise BenchError(f"a bench user could not log in: {exc}") from None
        return user

    async def _sign_up(self, user: BenchUser, into: list[BenchUser]) -> None:
        response = await self.client.post(
            SIGNUP,
            json={"email": user.email, "name": "Bench User", "password": self.password},
            headers=self.forwarded_for(),  # sign-ups are limited per address too
        )
        if response.status_code != 201:
            raise BenchError(f"signing up a bench user failed: {describe(response)}")
        into.append(user)  # from here on, delete_all removes it

    async def log_in(self, client: httpx.AsyncClient, user: BenchUser) -> None:
        user.attempts += 1
        response = await client.post(
            LOGIN, json={"email": user.email, "password": self.password}, headers=self.forwarded_for()
        )
        if response.status_code != 200:
            raise CallFailed(describe(response))
        user.token = response.json()["access_token"]

    def _next_login_user(self) -> BenchUser:
        for _ in range(len(self.login_pool)):
            user = self.login_pool[self._turn % len(self.login_pool)]
            self._turn += 1
            if user.attempts < self.logins_per_email:
                return user
        raise CallFailed("no bench user has a login left within the rate limit (a bench bug)")

    def login_call(self, client: httpx.AsyncClient) -> Callable[[], Awaitable[None]]:
        """One real login per call: the next user with a login left, from a new client address."""

        async def call() -> None:
            await self.log_in(client, self._next_login_user())

        return call

    async def delete_all(self) -> list[str]:
        """DELETE /api/auth/me for every bench user (their brands, sessions and files go with them,
        the files through the deletion events). Returns what could not be deleted."""
        problems: list[str] = []

        async def delete(user: BenchUser) -> None:
            try:
                await delete_one(user)
            except httpx.HTTPError as exc:
                problems.append(f"{user.email}: {type(exc).__name__}: {exc}")

        async def delete_one(user: BenchUser) -> None:
            if user.token is None:
                if user.attempts >= self.logins_per_email:
                    problems.append(f"{user.email}: never logged in and has no login left")
                    return
                try:
                    await self.log_in(self.client, user)
                except CallFailed as exc:
                    problems.append(f"{user.email}: {exc}")
                    return
            response = await self.client.delete(ME, headers=user.auth)
            if response.status_code != 204:
                problems.append(f"{user.email}: {describe(response)}")

        await self._each(self.all, delete)
        return problems

    @staticmethod
    async def _each(users: list[BenchUser], action: Callable[..., Awaitable], **kwargs) -> None:
        """`action(user)` for each, a few at a time; all finish before the first error is raised, so
        none is left running behind the cleanup."""
        limit = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def one(user: BenchUser) -> None:
            async with limit:
                await action(user, **kwargs)

        results = await asyncio.gather(*(one(u) for u in users), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result


# --- brands -------------------------------------------------------------------------------------


async def create_brand(client: httpx.AsyncClient, owner: BenchUser, title: str) -> dict:
    response = await client.post(
        BRANDS,
        json={
            "title": title,
            "description": "Sparkling water with real fruit, for people who skip soda.",
            "brand_guidelines": {"colors": ["#0B6E4F", "#F2C14E"], "tone": "bright, plain-spoken"},
        },
        headers=owner.auth,
    )
    if response.status_code != 201:
        raise BenchError(f"creating a bench brand failed: {describe(response)}")
    return response.json()


async def delete_brand(client: httpx.AsyncClient, owner: BenchUser, brand_id: str) -> None:
    response = await client.delete(f"{BRANDS}/{brand_id}", headers=owner.auth)
    if response.status_code != 204:
        raise BenchError(f"deleting a bench brand failed: {describe(response)}")


async def upload_product_image(client: httpx.AsyncClient, owner: BenchUser, brand_id: str) -> str:
    """A small PNG through the multipart path; returns its object key."""
    response = await client.post(
        f"{BRANDS}/{brand_id}/files",
        params={"kind": "product_image"},
        files={"file": ("product.png", png_image(), "image/png")},
        headers=owner.auth,
    )
    if response.status_code != 201:
        raise BenchError(f"uploading a bench product image failed: {describe(response)}")
    return response.json()["product_images"][-1]["key"]


async def brands_with_images(
    client: httpx.AsyncClient, owner: BenchUser, brands: int, with_image: int
) -> list[str]:
    """`brands` brands for `owner`, the first `with_image` of them with a product image; checks that
    the listing shows them all, with presigned URLs. Returns the stored objects' keys."""
    keys = []
    for i in range(brands):
        brand = await create_brand(client, owner, f"Bench brand {i + 1}")
        if i < with_image:
            keys.append(await upload_product_image(client, owner, brand["id"]))
    response = await client.get(BRANDS, params={"limit": brands}, headers=owner.auth)
    if response.status_code != 200:
        raise BenchError(f"listing the bench brands failed: {describe(response)}")
    items = response.json()["items"]
    urls = [image["url"] for brand in items for image in brand["product_images"]]
    if len(items) != brands or len(urls) != with_image or not all(u.startswith("http") for u in urls):
        raise BenchError(
            f"GET {BRANDS} shows {len(items)} brands and {len(urls)} image URLs;"
            f" expected {brands} and {with_image}"
        )
    return keys


def png_image(side: int = 64) -> bytes:
    """A real PNG (a flat colour square), built here so the bench ships no binary file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # 8-bit RGB
    pixels = b"".join(b"\x00" + b"\x0b\x6e\x4f" * side for _ in range(side))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )
