"""When a failed delivery is tried again: exponential backoff with jitter, inside a window.

After the n-th failed attempt the next waits base * 2^(n-1), capped at max_s, of which a random
part (the upper half) is jitter, so the deliveries of many events that failed together (an endpoint
that was down) do not all come back in the same second. With the defaults (10 s, 1 h) that is
about 10 s, 20 s, 40 s, ... 1 h, 1 h, ...: some 30 attempts in 24 h. No attempt is scheduled past
the window (WEBHOOK_RETRY_WINDOW_S after the event): the delivery is then failed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def delay_s(failed_attempts: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """The wait after `failed_attempts` (1 or more) failures: in [d/2, d], d = min(max_s, base * 2^(n-1))."""
    ceiling = min(max_s, base_s * 2 ** min(max(failed_attempts, 1) - 1, 60))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def next_attempt_at(
    now: datetime,
    created_at: datetime,
    failed_attempts: int,
    *,
    base_s: float,
    max_s: float,
    window_s: float,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try again, or None when that would be past the window (give up)."""
    at = now + timedelta(seconds=delay_s(failed_attempts, base_s, max_s, rng))
    return at if at <= created_at + timedelta(seconds=window_s) else None


# Beyond the attempt's own timeout, before a claimed attempt counts as lost with its worker.
LEASE_MARGIN_S = 60


def lease_s(timeout_s: float) -> float:
    """How long an attempt holds its delivery: a name may resolve to a few addresses, each tried
    once within the timeout, plus a margin. Past it the attempt counts as lost with its worker."""
    return 3 * timeout_s + LEASE_MARGIN_S
