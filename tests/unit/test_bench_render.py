"""The render bench's own bookkeeping (bench/render.py): what it counts as the renders' CPU time."""

from __future__ import annotations

import time

import pytest

from bench import render


def test_the_cpu_figure_leaves_out_the_memory_sampler(monkeypatch):
    # Sampling without a pause keeps the sampler thread busy for the whole run: its CPU time would
    # be all of the figure if it were counted.
    monkeypatch.setattr(render, "SAMPLE_S", 0.0)
    measurement = render.Measurement("sleeping")

    render.timed(measurement, lambda: time.sleep(0.5) or {})

    assert measurement.runs[0].cpu_s < 0.1


def test_make_bench_can_run_only_the_render_section():
    from bench.__main__ import parse_args

    assert parse_args(["--render-only", "--render-repeat", "3"]).render_only
    with pytest.raises(SystemExit):
        parse_args(["--render-only", "--render-repeat", "0"])
