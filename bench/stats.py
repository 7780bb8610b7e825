"""Summaries of latency samples: nearest-rank percentiles and throughput."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list; NaN when it is empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class Samples:
    """Latencies in seconds of the calls that succeeded, the failures, and the wall time they took."""

    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    wall_s: float = 0.0
    first_error: str | None = None

    def ok(self, latency_s: float) -> None:
        self.latencies_s.append(latency_s)

    def failed(self, why: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = why

    @property
    def count(self) -> int:
        return len(self.latencies_s)

    @property
    def rate(self) -> float:
        return self.count / self.wall_s if self.wall_s > 0 else math.nan

    def p(self, q: float) -> float:
        """The q-th percentile in milliseconds."""
        return percentile(sorted(self.latencies_s), q) * 1000
