"""The worker's full-collection schedule: CPython runs none by itself, the worker one per interval."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from engine.runtime.full_collections import FullCollections, automatic_full_collections_off
from tests.clocks import FakeClock


def test_a_full_collection_runs_once_per_interval() -> None:
    clock = FakeClock()
    runs: list[float] = []
    schedule = FullCollections(60.0, clock=clock, collect=lambda: runs.append(clock.now))
    clock.now = 59.9
    assert schedule.run_if_due() is None
    clock.now = 60.0
    assert schedule.run_if_due() == 0.0
    clock.now = 100.0
    assert schedule.run_if_due() is None  # 40 s after the last one
    clock.now = 120.0
    schedule.run_if_due()
    assert runs == [60.0, 120.0]


def _full_collections_while(build: int) -> int:
    """Full collections CPython starts by itself while `build` long-lived containers appear."""
    started: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            started.append(1)

    kept: list[list[int]] = []
    gc.callbacks.append(seen)
    try:
        for n in range(build):
            kept.append([n])  # survives every young collection, as saga states do
    finally:
        gc.callbacks.remove(seen)
    return len(started)


@pytest.fixture
def default_thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


@pytest.mark.usefixtures("default_thresholds")
def test_cpython_starts_no_full_collection_while_held() -> None:
    assert _full_collections_while(400_000) > 0  # the control: CPython's own schedule
    with automatic_full_collections_off():
        assert _full_collections_while(400_000) == 0
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.usefixtures("default_thresholds")
def test_the_threshold_comes_back_only_when_the_last_holder_is_done() -> None:
    with automatic_full_collections_off():
        with automatic_full_collections_off():
            pass
        assert _full_collections_while(400_000) == 0  # the outer holder still holds
    assert gc.get_threshold() == (700, 10, 10)
