"""The stack's processes' log files, read by tests that must see a process take a path (a failure it
retries, a request it logs) before they go on."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path


def log_size(path: Path) -> int:
    """Where the log ends now: lines after it were written later."""
    return path.stat().st_size if path.exists() else 0


async def wait_for_log_lines(
    path: Path, text: str, after: int = 0, count: int = 1, timeout_s: float = 60
) -> list[str]:
    """The first `count` lines containing `text` written after offset `after`; fails after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        with open(path, "rb") as log:
            log.seek(after)
            found = [line for line in log.read().decode(errors="replace").splitlines() if text in line]
        if len(found) >= count:
            return found[:count]
        assert time.monotonic() < deadline, (
            f"{len(found)} of {count} lines with {text!r} in {path.name} after {timeout_s:.0f} s"
        )
        await asyncio.sleep(0.1)
