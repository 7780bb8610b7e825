"""The accounts/workspace API rows: login, an authenticated GET /api/brands of 20 brands, and a
large upload through the multipart path with the memory it costs; then every bench user is deleted
again (their brands and files go with them, the files through the deletion events)."""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field

import grpc
import httpx

from bench import big_upload, load, processes
from bench.report import Goal, Row, mebibytes, p99_goal, throughput_goal
from bench.rows import CONCURRENCY, http_row, progress
from bench.stats import Samples
from bench.target import BenchError, Target
from bench.workspace import BRANDS, BenchUsers, brands_with_images, create_brand, delete_brand
from zapcut.media.v1 import media_pb2, media_pb2_grpc

BRANDS_LISTED = 20
BRANDS_WITH_IMAGE = 4
LOGIN_TIMEOUT_S = 30  # 32 logins at once queue for two cores' worth of Argon2
CLEANUP_WAIT_S = 60  # for media to remove the bench's objects after the users are deleted


@dataclass
class WorkspaceFigures:
    rows: list[Row] = field(default_factory=list)
    upload: big_upload.UploadResult | None = None
    notes: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)  # GET /api/brands against the single-process app


def login_warmup(concurrency: int) -> int:
    return max(2, concurrency)  # one per connection opens it; two at concurrency 1


async def measure(
    target: Target,
    args: argparse.Namespace,
    health_p50: dict[int, float],
    media: grpc.aio.Channel,
    monolith_url: str,
) -> WorkspaceFigures:
    figures = WorkspaceFigures()
    keys: list[str] = []
    problems: list[str] = []
    async with httpx.AsyncClient(base_url=target.gateway_url, timeout=10) as client:
        users = BenchUsers(client, target.login_rate_limit)
        try:
            await _measure(target, args, health_p50, client, users, figures, keys, monolith_url)
        except (BenchError, httpx.HTTPError) as exc:
            # The rows measured so far, and every other section of the table, still count.
            why = exc.message if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"
            figures.notes.append(f"accounts/workspace API: stopped early: {why}")
        finally:
            progress(f"deleting the {len(users.all)} bench users (DELETE /api/auth/me)")
            problems = await users.delete_all()
            figures.notes += [f"bench user not deleted: {p}" for p in problems]
    if keys and not problems:
        figures.notes.append(await _objects_removed(media, keys))
    return figures


async def _measure(target, args, health_p50, client, users: BenchUsers, figures, keys, monolith_url) -> None:
    baseline = {
        c: {"baseline": f"GET /api/health c={c}", "baseline_ms": health_p50.get(c)} for c in CONCURRENCY
    }

    logins = sum(login_warmup(c) + args.logins for c in CONCURRENCY)
    progress(f"signing up {users.users_for(logins)} bench users for {logins} logins")
    await users.sign_up_login_pool(logins)
    for c in CONCURRENCY:
        progress(f"POST /api/auth/login at concurrency {c}")
        async with load.http_clients(target.gateway_url, c, timeout_s=LOGIN_TIMEOUT_S) as clients:
            calls = [users.login_call(cl) for cl in clients]
            await load.measure(calls, requests=login_warmup(c), max_s=args.seconds)
            samples = await load.measure(calls, requests=args.logins, max_s=args.seconds)
        figures.rows.append(Row("POST /api/auth/login (Argon2id)", samples, c, **baseline[c]))

    owner = await users.new_owner()
    progress(f"{BRANDS_LISTED} bench brands, {BRANDS_WITH_IMAGE} with a product image (multipart)")
    keys += await brands_with_images(client, owner, BRANDS_LISTED, BRANDS_WITH_IMAGE)
    label = f"GET {BRANDS}: {BRANDS_LISTED} brands, {BRANDS_WITH_IMAGE} w/ image"
    minimum = {1: 0.7, 32: 0.9}  # issue 11's targets against the single-process app
    for c in CONCURRENCY:
        # The same token and brands through the single-process app, then through the gateway.
        floor = await http_row(
            monolith_url, "/brands", c, args, headers=owner.auth, label="floor: single-process /brands"
        )
        stack = await http_row(
            target.gateway_url, BRANDS, c, args, headers=owner.auth, label=label, **baseline[c]
        )
        figures.rows += [floor, stack]
        figures.goals += [
            throughput_goal(f"GET {BRANDS}", stack, floor, minimum[c]),
            p99_goal(f"GET {BRANDS}", stack, floor, 1.5),
        ]

    if args.upload_mib:
        figures.upload = await _upload(target, args, client, owner)
        if figures.upload.key:
            keys.append(figures.upload.key)
        if row := _upload_row(figures.upload):
            figures.rows.append(row)


async def _upload(target: Target, args, client: httpx.AsyncClient, owner) -> big_upload.UploadResult:
    size = args.upload_mib * big_upload.MIB
    progress(f"uploading a {mebibytes(size)} PDF brand asset through the multipart path")
    brand = await create_brand(client, owner, "Bench upload")
    ports = {"gateway": target.gateway_host_port[1], "media": int(target.grpc["media"].rsplit(":", 1)[1])}
    pids = {p.name: p.pid for p in processes.find(ports) if p.name in ports}
    try:
        result = await big_upload.upload(
            client, owner, brand["id"], size, pids, max_s=max(60, args.seconds * 6)
        )
    finally:
        # At once, and on its own: under `make dev` the S3 server lists slowly while it holds a
        # large object, and media works through the deletion of every other bench brand meanwhile.
        await delete_brand(client, owner, brand["id"])
    if result.skipped:
        progress(f"upload not measured: {result.skipped}")
    return result


def _upload_row(result: big_upload.UploadResult) -> Row | None:
    if result.skipped:
        return None
    samples = Samples()
    if result.elapsed_s is not None:
        samples.ok(result.elapsed_s)
        samples.wall_s = result.elapsed_s
    else:
        samples.failed(result.error or "failed")
    return Row(f"POST {BRANDS}/{{id}}/files {mebibytes(result.size)}", samples, throughput=False)


async def _objects_removed(media: grpc.aio.Channel, keys: list[str]) -> str:
    """Wait until media has removed what the bench stored (it follows the user.deleted events)."""
    stub = media_pb2_grpc.MediaStub(media)
    started = time.perf_counter()
    remaining = list(keys)
    while remaining and time.perf_counter() - started < CLEANUP_WAIT_S:
        try:
            replies = [
                await stub.ObjectExists(media_pb2.ObjectRequest(ref=media_pb2.ObjectRef(key=k)), timeout=5)
                for k in remaining
            ]
        except grpc.aio.AioRpcError as exc:
            return (
                f"could not check that media removed the bench's objects: {exc.code().name} {exc.details()}"
            )
        remaining = [k for k, r in zip(remaining, replies, strict=True) if r.exists]
        if remaining:
            await asyncio.sleep(0.5)
    if remaining:
        return (
            f"{len(remaining)} of the bench's {len(keys)} objects were still stored {CLEANUP_WAIT_S} s after "
            "their users were deleted (is media consuming the events stream?)"
        )
    return (
        f"cleanup: the bench users are deleted (DELETE /api/auth/me), and the {len(keys)} objects the bench"
        f" stored were gone {time.perf_counter() - started:.1f} s later (media follows the deletion events)"
    )
