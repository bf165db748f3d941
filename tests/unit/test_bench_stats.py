"""Percentiles, ratios and the pacing schedule of `q2c bench` (pure parts)."""

from __future__ import annotations

import pytest

from engine.bench.pacing import due_at, due_count, schedule
from engine.bench.stats import percentile, ratio, summarize_latencies


def test_percentile_interpolates_like_numpy_linear() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 50) == 25.0
    assert percentile(values, 99) == pytest.approx(39.7)


def test_percentile_ignores_input_order_and_rejects_bad_input() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_orders_p50_p99_max() -> None:
    samples = [float(i) for i in range(1, 1001)]
    s = summarize_latencies(samples, offered_eps=1000.0)
    assert s.count == 1000
    assert s.p50_ms <= s.p99_ms <= s.max_ms == 1000.0
    assert s.p50_ms == pytest.approx(500.5)
    assert summarize_latencies([], 5.0).count == 0


def test_ratio_is_none_without_a_positive_denominator() -> None:
    assert ratio(30.0, 100.0) == pytest.approx(0.3)
    assert ratio(1.0, 0.0) is None
    assert ratio(1.0, -2.0) is None


def test_pacing_schedule_holds_the_rate() -> None:
    assert due_at(0, 1000.0) == 0.0
    assert due_at(500, 1000.0) == pytest.approx(0.5)
    # At t the records 0..floor(t*rate) are due, never more than the total.
    assert due_count(0.0, 1000.0, 10_000) == 1
    assert due_count(0.5, 1000.0, 10_000) == 501
    assert due_count(0.5, 1000.0, 100) == 100
    assert due_count(-1.0, 1000.0, 100) == 0
    assert schedule(1000.0, 1.5) == 1500
    with pytest.raises(ValueError):
        due_at(1, 0.0)
