"""Turning a scenario into a table row: warm up, then measure; and the progress lines on stderr."""

from __future__ import annotations

import argparse
import sys

from bench import load
from bench.report import Row

CONCURRENCY = (1, 32)  # every load row is measured at these


def progress(message: str) -> None:
    print(f"bench | {message}", file=sys.stderr, flush=True)


async def load_row(label: str, calls: list, args: argparse.Namespace, **row) -> Row:
    """Warm up (connections, caches), then measure; the concurrency is len(calls)."""
    progress(f"{label} at concurrency {len(calls)}")
    await load.measure(calls, requests=max(20, 2 * len(calls)), max_s=5)
    samples = await load.measure(calls, requests=args.requests, max_s=args.seconds)
    return Row(label, samples, len(calls), **row)


async def http_row(
    base_url: str, path: str, concurrency: int, args: argparse.Namespace, headers=None, label=None, **row
) -> Row:
    async with load.http_clients(base_url, concurrency, headers) as clients:
        calls = [load.http_get(c, path) for c in clients]
        return await load_row(label or f"GET {path}", calls, args, **row)
