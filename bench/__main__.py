"""`make bench` (python -m bench): figures against a running `make dev` stack.

    make bench
    make bench BENCH_ARGS="--gateway http://localhost:18000 --requests 500"

Floors (TCP, a trivial HTTP server, gRPC health), the gateway's health routes, diagnostic jobs, S3
through media, then the accounts/workspace API: login, GET /api/brands of 20 brands and a 200 MiB
multipart upload with the memory it costs, made with bench users that are deleted at the end.

Only loopback targets; every scenario stops at a request count and a time limit, and the whole run
at --time-limit. Exits 1 with one line when the stack is not running.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import grpc

from bench import big_upload, load, processes, workspace_rows
from bench.floors import bare_rq_throughput, diagnostic_throughput, start_bare_worker, start_monolith
from bench.report import Goal, Row, mebibytes, render, render_goals, throughput_goal
from bench.rows import CONCURRENCY, http_row, load_row, progress
from bench.target import BenchError, Target, resolve
from devstack.processes import ManagedProcess, free_port, wait_for_port
from services.common.grpc_client import health_status, open_channel

HEALTH_TARGET_MS = 100  # the original target for health checks
DATABASE_TARGET_MS = 50  # ... for database queries
S3_TARGET_MS = 500  # ... for S3 operations


async def require_stack(target: Target, channels: dict) -> str:
    """Fail with one line unless the gateway and the three services answer; return the address
    the gateway's host name reached (so the TCP floor does not pay for a refused ::1 each time)."""
    host, port = target.gateway_host_port
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
        address = writer.get_extra_info("peername")[0]
        writer.close()
    except (OSError, TimeoutError):
        raise BenchError(
            f"no stack running: nothing listens at {target.gateway_url} (start it with `make dev`, "
            "or pass --gateway)"
        ) from None
    for name, channel in channels.items():
        status = await health_status(channel, 1.0)
        if status != "SERVING":
            raise BenchError(
                f"no stack running: {name} at {target.grpc[name]} answers {status} (start it with `make dev`)"
            )
    return address


def start_trivial_server() -> tuple[ManagedProcess, int]:
    port = free_port()
    proc = ManagedProcess(
        "bench-floor",
        [sys.executable, "-m", "bench.trivial_server", str(port)],
        cwd=Path(__file__).resolve().parent.parent,
        log_file=Path(os.devnull),
    ).start()
    wait_for_port(port, 10, proc)
    return proc, port


async def run(target: Target, args: argparse.Namespace) -> str:
    async with AsyncExitStack() as stack:
        # Started before any gRPC channel exists: forking a process that has gRPC threads is unsafe.
        floor_proc, floor_port = start_trivial_server()
        stack.callback(floor_proc.stop)
        floor_url = f"http://127.0.0.1:{floor_port}"
        monolith_proc, monolith_url = start_monolith(target.env)
        stack.callback(monolith_proc.stop)
        rq_proc, rq_queue = start_bare_worker(target.env)
        stack.callback(rq_proc.stop)
        channels = {name: open_channel(addr, target.internal_token) for name, addr in target.grpc.items()}
        for channel in channels.values():
            stack.push_async_callback(channel.close)
        gateway_address = await require_stack(target, channels)

        # Floors: what the machine, the HTTP client and grpc.aio cost with nothing behind them.
        port = target.gateway_host_port[1]
        connect = load.tcp_connect(gateway_address, port)
        floors = [await load_row(f"TCP connect to gateway :{port}", [connect], args, throughput=False)]
        http_floor = {}
        for c in CONCURRENCY:
            row = await http_row(floor_url, "/", c, args)
            row.label = "GET trivial local HTTP endpoint"
            http_floor[c] = row.samples.p(50)
            floors.append(row)
        grpc_floor = {}
        for name, channel in channels.items():
            row = await load_row(f"{name} gRPC health Check", [load.grpc_health(channel)], args)
            grpc_floor[name] = row.samples.p(50)
            floors.append(row)

        http_rows, health_p50, goals = [], {}, []
        for c in CONCURRENCY:
            # The single-process app's /health, then the gateway's, one after the other.
            monolith_health = await http_row(
                monolith_url, "/health", c, args, label="floor: single-process /health"
            )
            http_rows.append(monolith_health)
            gateway_health = await http_row(
                target.gateway_url, "/api/health", c, args, target_ms=HEALTH_TARGET_MS,
                baseline=f"trivial HTTP c={c}", baseline_ms=http_floor[c],
            )  # fmt: skip
            http_rows.append(gateway_health)
            goals.append(throughput_goal("GET /api/health", gateway_health, monolith_health, 0.8))
        for path, target_ms in (("/api/health/accounts", DATABASE_TARGET_MS),):
            for c in CONCURRENCY:
                http_rows.append(
                    await http_row(target.gateway_url, path, c, args, target_ms=target_ms,
                                   baseline=f"trivial HTTP c={c}", baseline_ms=http_floor[c])
                )  # fmt: skip
        health_p50 = {r.concurrency: r.samples.p(50) for r in http_rows if r.label == "GET /api/health"}

        progress(f"{args.jobs} diagnostic jobs, one at a time")
        to_start, to_finish = await load.job_start_delays(channels["jobs"], args.jobs, max_s=args.seconds * 6)
        job_row = partial(Row, baseline="jobs gRPC health", baseline_ms=grpc_floor["jobs"], throughput=False)
        job_rows = [
            job_row("diagnostic job: created -> started", to_start),
            job_row("diagnostic job: created -> finished", to_finish),
        ]
        job_rows += await _job_throughputs(channels["jobs"], target, rq_queue, args, goals)

        progress(f"{args.s3_rounds} rounds of S3 operations through media")
        s3 = await load.s3_operations(channels["media"], args.s3_rounds, max_s=args.seconds * 6)
        s3_rows = [
            Row(f"media {name} (4 KiB)" if name == "UploadObject" else f"media {name}", samples,
                target_ms=S3_TARGET_MS, baseline="media gRPC health", baseline_ms=grpc_floor["media"],
                throughput=False)
            for name, samples in s3.items()
        ]  # fmt: skip

        workspace = await workspace_rows.measure(target, args, health_p50, channels["media"], monolith_url)
        goals[2:2] = workspace.goals

        ports = {"gateway": port} | {n: int(a.rsplit(":", 1)[1]) for n, a in target.grpc.items()}
        memory = processes.find(ports)

    title = (
        f"zapcut bench  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  {os.cpu_count()} CPUs  "
        f"Python {platform.python_version()}\n"
        f"gateway {target.gateway_url}  "
        + "  ".join(f"{n} {a}" for n, a in target.grpc.items())
        + f"\nup to {args.requests} requests ({args.logins} for logins) or {args.seconds:g} s per load row;"
        " latencies are of successful calls"
    )
    table = render(
        title,
        [
            ("floors", floors),
            ("gateway (HTTP)", http_rows),
            (
                "jobs (gRPC CreateJob, then GetJob until it ends; from the row's timestamps; throughput rows:"
                f" {args.throughput_jobs} at once, req/s = jobs/s)",
                job_rows,
            ),
            ("S3 through media (gRPC, sequential)", s3_rows),
            (
                "accounts/workspace API (HTTP; x floor: p50 over GET /api/health's p50 at the same"
                " concurrency in this run)",
                workspace.rows,
            ),
        ],
    )
    table += "\n\n" + render_goals(goals)
    if workspace.upload is not None:
        table += "\n\n" + big_upload.render(workspace.upload)
    if memory:
        table += "\n\npeak RSS (VmHWM): " + ", ".join(
            f"{p.name} {mebibytes(p.peak_rss)} (now {mebibytes(p.rss)})" for p in memory
        )
    else:
        table += "\n\npeak RSS: the stack's processes were not found (not listening on this machine?)"
    if workspace.notes:
        table += "\n\n" + "\n".join(workspace.notes)
    return table


async def _job_throughputs(
    jobs: grpc.aio.Channel, target: Target, rq_queue: str, args: argparse.Namespace, goals: list[Goal]
) -> list[Row]:
    """Bare RQ no-op jobs, then diagnostic jobs through jobs, each warmed up first."""
    count, max_s = args.throughput_jobs, args.seconds * 6
    redis_url = target.env["REDIS_URL"]
    progress(f"{count} bare RQ no-op jobs at once, then {count} diagnostic jobs through jobs")
    await asyncio.to_thread(bare_rq_throughput, redis_url, rq_queue, 5, max_s)
    bare = Row("floor: bare RQ no-op jobs", await asyncio.to_thread(
        bare_rq_throughput, redis_url, rq_queue, count, max_s))  # fmt: skip
    await diagnostic_throughput(jobs, 5, max_s)
    diagnostic = Row("diagnostic jobs through CreateJob", await diagnostic_throughput(jobs, count, max_s))
    goals.append(
        Goal(
            "diagnostic jobs/s vs bare RQ no-op",
            None,
            diagnostic.samples.rate,
            bare.samples.rate,
            at_least=0.5,
        )
    )
    return [bare, diagnostic]


async def run_with_limit(target: Target, args: argparse.Namespace) -> str:
    return await asyncio.wait_for(run(target, args), args.time_limit)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", help="gateway base URL (default http://localhost:$PORT, PORT=8000)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per load row (default 1000)")
    parser.add_argument("--seconds", type=float, default=10, help="time cap per load row (default 10)")
    parser.add_argument("--jobs", type=int, default=20, help="diagnostic jobs to time (default 20)")
    parser.add_argument(
        "--throughput-jobs", type=int, default=50, help="jobs per job-throughput row (default 50)"
    )
    parser.add_argument("--s3-rounds", type=int, default=30, help="upload/presign/exists/delete rounds")
    parser.add_argument("--logins", type=int, default=100, help="logins per concurrency (default 100)")
    parser.add_argument(
        "--upload-mib", type=int, default=200, help="size of the multipart upload (default 200; 0 skips it)"
    )
    parser.add_argument("--time-limit", type=float, default=420, help="stop the whole run after this")
    parser.add_argument(
        "--render-repeat",
        type=int,
        default=1,
        help="rounds of the 15 s 1080x1920 render vs its FFmpeg floor (default 1; 0 skips it)",
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="only the render section (it needs no stack; the same as python -m bench.render)",
    )
    args = parser.parse_args(argv)
    for name in ("requests", "seconds", "jobs", "throughput_jobs", "s3_rounds", "logins", "time_limit"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.upload_mib < 0:
        parser.error("--upload-mib must be 0 (skip) or positive")
    if args.render_only and args.render_repeat < 1:
        parser.error("--render-only needs --render-repeat of at least 1")
    return args


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    try:
        table = ""
        if not args.render_only:
            target = resolve(args.gateway)
            table = asyncio.run(run_with_limit(target, args)) + "\n\n"
        if args.render_repeat:
            # The local provider against its FFmpeg floor, on this machine (no stack).
            from bench import render

            table += render.render(render.run(repeat=args.render_repeat, progress=progress))
    except BenchError as exc:
        print(f"bench: {exc.message}", file=sys.stderr)
        raise SystemExit(1) from None
    except TimeoutError:
        print(f"bench: stopped at the {args.time_limit:g} s time limit", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    print(table)
    print(f"\n(bench took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
