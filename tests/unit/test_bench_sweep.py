"""The load sweep: which loads a system is offered, engine/baseline p99 ratios, the plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.bench.stats import summarize_latencies
from engine.bench.sweep import SweepPoint, p99_ratios, plot, pool_size, reachable, records_for


def _point(rate: float, p99: float) -> SweepPoint:
    return SweepPoint(rate, summarize_latencies([p99 / 2] * 98 + [p99] * 2, rate))


def test_loads_near_or_above_a_systems_saturation_are_left_out() -> None:
    rates = (100.0, 200.0, 500.0, 1000.0, 2000.0)
    assert reachable(rates, 1_850.0) == [100.0, 200.0, 500.0, 1000.0]
    assert reachable(rates, 20_000.0) == list(rates)
    assert reachable(rates, 0.0) == []  # a failed drain offers nothing


def test_the_pool_holds_a_fresh_slice_for_every_point() -> None:
    assert records_for(100.0, 5.0) == 500
    assert records_for(0.1, 0.25) == 1  # never an empty point
    assert pool_size((100.0, 200.0), 5.0) == 1_500


def test_p99_ratios_are_taken_only_where_both_measured() -> None:
    engine = [_point(100, 30.0), _point(200, 60.0), SweepPoint(2000, skipped="saturated")]
    base = [_point(100, 10.0), _point(200, 40.0), _point(2000, 50.0)]
    assert p99_ratios(engine, base) == {"100": pytest.approx(3.0), "200": pytest.approx(1.5)}
    assert SweepPoint(2000, skipped="saturated").as_dict() == {
        "offered_eps": 2000,
        "skipped": "saturated",
    }


def test_the_plot_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    sweeps = {
        "exactly_once": {"engine": [_point(100, 30.0), _point(200, 60.0)]},
        "at_least_once": {"raw_pipe": [_point(100, 5.0), SweepPoint(200, skipped="x")]},
    }
    path = plot(sweeps, tmp_path / "out" / "sweep.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
