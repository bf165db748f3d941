"""Fault schedule, its retry policy, timeline and sim clock: the platforms' pure parts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from engine.contracts import Envelope, ProjectActivated
from engine.simulators.clock import SimClock
from engine.simulators.faults import FaultConfig, FaultSchedule
from engine.simulators.runner import retry_policy_for
from engine.simulators.timeline import Timeline

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_latency_stays_within_bounds() -> None:
    schedule = FaultSchedule(FaultConfig(latency_ms=(20, 80)), random.Random(1))
    samples = [schedule.latency_s() for _ in range(500)]
    assert all(0.020 <= s <= 0.080 for s in samples)
    assert max(samples) - min(samples) > 0.03


def test_error_rate_is_roughly_honoured() -> None:
    schedule = FaultSchedule(FaultConfig(error_rate=0.3), random.Random(2))
    failures = sum(schedule.fails(0) for _ in range(5000))
    assert 0.26 < failures / 5000 < 0.34


def test_retries_always_end_in_success() -> None:
    config = FaultConfig(error_rate=0.99, max_consecutive_failures=5)
    schedule = FaultSchedule(config, random.Random(3))
    for _ in range(200):
        attempt = 0
        while schedule.fails(attempt):
            attempt += 1
        assert attempt <= 5


def test_backoff_grows_and_is_capped() -> None:
    schedule = FaultSchedule(FaultConfig(backoff_base_ms=100, backoff_cap_ms=700), random.Random())
    assert [schedule.backoff_s(a) for a in range(5)] == [0.1, 0.2, 0.4, 0.7, 0.7]


def test_outage_window() -> None:
    schedule = FaultSchedule(
        FaultConfig(outage_start_s=5.0, outage_duration_s=3.0), random.Random()
    )
    assert schedule.outage_remaining_s(4.9) == 0.0
    assert schedule.outage_remaining_s(5.0) == pytest.approx(3.0)
    assert schedule.outage_remaining_s(7.5) == pytest.approx(0.5)
    assert schedule.outage_remaining_s(8.0) == 0.0
    assert FaultSchedule(FaultConfig(), random.Random()).outage_remaining_s(5.0) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latency_ms": (50, 10)},
        {"error_rate": 1.0},
        {"error_rate": -0.1},
        {"outage_duration_s": -1},
    ],
)
def test_fault_config_rejects_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FaultConfig(**kwargs)  # type: ignore[arg-type]


def test_retry_policy_outlasts_the_platforms_consecutive_failures() -> None:
    config = FaultConfig(error_rate=0.99, max_consecutive_failures=4, backoff_base_ms=10)
    schedule = FaultSchedule(config, random.Random(3))
    policy = retry_policy_for(config)
    failed = 0
    while schedule.fails(failed):
        failed += 1
    # The runner tries once more than the schedule can fail in a row: no retry tier needed.
    assert failed == 4 and policy.attempts == failed + 1
    assert policy.initial_backoff_s == 0.01 and policy.max_backoff_s == 1.0


def _activated(project_id: str, at: datetime) -> ProjectActivated:
    env = Envelope.new("project-activated", "netsuite")
    return ProjectActivated(envelope=env, project_id=project_id, activated_at=at)


def test_timeline_releases_in_due_order_and_cancels_by_tag() -> None:
    timeline = Timeline()
    e1, e2, e3 = (_activated(p, T0) for p in ("P1", "P2", "P3"))
    timeline.schedule(T0 + timedelta(hours=3), "P3", e3)
    timeline.schedule(T0 + timedelta(hours=1), "P1", e1)
    timeline.schedule(T0 + timedelta(hours=2), "P2", e2)
    assert timeline.next_due() == T0 + timedelta(hours=1)
    assert timeline.pop_due(T0) == []
    assert timeline.cancel("P2") == 1
    assert timeline.pop_due(T0 + timedelta(hours=2)) == [("P1", e1)]
    assert len(timeline) == 1
    assert timeline.pop_due(T0 + timedelta(days=1)) == [("P3", e3)]
    assert timeline.next_due() is None


def test_sim_clock_runs_time_scale_times_faster() -> None:
    real = [100.0]
    clock = SimClock(3600, start=T0, monotonic=lambda: real[0])
    assert clock() == T0
    real[0] += 2.5
    assert clock() == T0 + timedelta(hours=2.5)
    assert clock.real_seconds(timedelta(hours=36)) == pytest.approx(36.0)
    assert clock.sim_duration(1.0) == timedelta(hours=1)
    with pytest.raises(ValueError):
        SimClock(0)
