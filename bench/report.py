"""The table `make bench` prints."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.stats import Samples


@dataclass
class Row:
    label: str
    samples: Samples
    concurrency: int = 1
    target_ms: float | None = None  # p99 should stay under this (the original target)
    baseline: str | None = None  # which floor the ratio is against
    baseline_ms: float | None = None  # that floor's p50
    throughput: bool = True  # False for sequential scenarios, where req/s means nothing


HEADER = (
    f"{'measurement':<38} {'conc':>4} {'n':>5} {'err':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    f"  {'target p99':<11} {'verdict':<8} {'x floor':>8}  floor (p50)"
)


def _num(value: float, digits: int = 2) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def render_row(row: Row) -> str:
    s = row.samples
    p50, p99 = s.p(50), s.p(99)
    rate = _num(s.rate, 0) if row.throughput else "—"
    target = f"< {row.target_ms:g} ms" if row.target_ms is not None else "—"
    if row.target_ms is None or math.isnan(p99):
        verdict = "—"
    else:
        verdict = "meets" if p99 < row.target_ms else "MISSES"
    if row.baseline_ms and not math.isnan(p50):
        ratio = f"{p50 / row.baseline_ms:.1f}x"
        floor = f"{row.baseline} {row.baseline_ms:.2f} ms"
    else:
        ratio, floor = "—", (row.baseline or "")
    line = (
        f"{row.label:<38} {row.concurrency:>4} {s.count:>5} {s.errors:>4} {rate:>8} {_num(p50):>8} "
        f"{_num(p99):>8}  {target:<11} {verdict:<8} {ratio:>8}  {floor}"
    )
    if s.first_error:
        line += f"\n{'':<4}first error: {s.first_error[:150]}"
    return line


def render(title: str, sections: list[tuple[str, list[Row]]]) -> str:
    lines = [title, "", HEADER, "-" * len(HEADER)]
    for name, rows in sections:
        lines.append(f"[{name}]")
        lines.extend(render_row(row) for row in rows)
    return "\n".join(lines)


def mebibytes(value: int | None, digits: int = 0, signed: bool = False) -> str:
    if value is None:
        return "?"
    return f"{value / 1024 / 1024:{'+' if signed else ''}.{digits}f} MiB"
