"""`SimClock` shared with another process: the demo's worker processes read the demo's clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from engine.settings import Settings, SettingsError, load_settings
from engine.simulators.clock import SimClock

START = datetime(2026, 3, 1, 8, tzinfo=UTC)


def test_a_clock_begun_ahead_stands_still_until_then_and_reads_the_same_elsewhere() -> None:
    now = [1000.0]
    clock = SimClock(3600.0, start=START, monotonic=lambda: now[0], running=False)
    clock.begin(at=1010.0)
    assert clock() == START  # before its beginning: no simulated time passes
    now[0] = 1012.0
    assert clock() == START + timedelta(hours=2)

    shared = SimClock(3600.0, start=START, monotonic=time.time, running=False)
    shared.begin(at=time.time() - 1.0)
    other = SimClock.from_spec(shared.spec)
    assert abs((other() - shared()).total_seconds()) < 3600 * 0.5  # within half a real second


def test_only_a_wall_clock_that_has_begun_can_be_shared() -> None:
    with pytest.raises(ValueError, match=r"only a begun clock on time\.time"):
        _ = SimClock(60.0, start=START).spec
    with pytest.raises(ValueError, match=r"only a begun clock on time\.time"):
        _ = SimClock(60.0, start=START, monotonic=time.time, running=False).spec


def test_a_bad_sim_clock_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("Q2C_SIM_CLOCK", "2026-03-01T08:00:00|fast|0")
    with pytest.raises(SettingsError, match="Q2C_SIM_CLOCK") as caught:
        load_settings()
    assert "\n" not in str(caught.value)
    assert Settings(sim_clock=None).sim_clock is None
