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


@dataclass
class Goal:
    """A lean-path target: the stack's figure over its floor's, measured in the same run."""

    label: str
    concurrency: int | None
    stack: float
    floor: float
    at_least: float | None = None  # for throughputs: ratio >= this
    at_most: float | None = None  # for latencies: ratio <= this

    @property
    def ratio(self) -> float:
        return self.stack / self.floor if self.floor and not math.isnan(self.floor) else math.nan

    @property
    def met(self) -> bool:
        if math.isnan(self.ratio):
            return False
        if self.at_least is not None:
            return self.ratio >= self.at_least
        return self.at_most is not None and self.ratio <= self.at_most


def throughput_goal(label: str, stack: Row, floor: Row, at_least: float) -> Goal:
    return Goal(
        f"{label} req/s", stack.concurrency, stack.samples.rate, floor.samples.rate, at_least=at_least
    )


def p99_goal(label: str, stack: Row, floor: Row, at_most: float) -> Goal:
    return Goal(
        f"{label} p99 ms", stack.concurrency, stack.samples.p(99), floor.samples.p(99), at_most=at_most
    )


GOALS_HEADER = (
    f"{'lean path: stack vs floor':<44} {'conc':>4} {'stack':>9} {'floor':>9} {'ratio':>7}"
    f"  {'target':<8} verdict"
)


def render_goals(goals: list[Goal]) -> str:
    lines = [GOALS_HEADER, "-" * len(GOALS_HEADER)]
    for g in goals:
        target = f">= {g.at_least:g}x" if g.at_least is not None else f"<= {g.at_most:g}x"
        conc = "—" if g.concurrency is None else str(g.concurrency)
        ratio = "—" if math.isnan(g.ratio) else f"{g.ratio:.2f}x"
        lines.append(
            f"{g.label:<44} {conc:>4} {_num(g.stack, 1):>9} {_num(g.floor, 1):>9} {ratio:>7}  {target:<8} "
            f"{'met' if g.met else 'NOT MET'}"
        )
    return "\n".join(lines)
