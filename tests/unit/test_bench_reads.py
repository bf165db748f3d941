"""The in-process measurements: operator reads over a store of the size asked and real dead
letters, and parking records while many wait."""

from __future__ import annotations

from engine.api import views
from engine.bench.hostile import hostile_costs, park_cost_us
from engine.bench.reads import dead_letters, read_costs
from engine.runtime.names import TopicNames


def test_read_costs_are_measured_over_the_sizes_asked() -> None:
    costs = read_costs(deals=20, letters=10)
    assert costs.sagas == 20 * 3  # every saga type an active deal has
    assert costs.overview_ms > 0 and costs.dlq_summary_ms > 0
    assert costs.as_dict()["dead_letters"] == 10


def test_the_dead_letters_summarize_like_the_workers() -> None:
    names = TopicNames("")
    summary = views.dlq_summary(dead_letters(10, names), names)
    assert summary["total"] == 10
    assert {e["error_class"]: e["count"] for e in summary["by_error"]} == {
        "engine.codec.DecodeError": 5,
        "engine.adapters.errors.PermanentError": 5,
    }


def test_parking_cost_is_measured_with_the_room_it_names() -> None:
    assert park_cost_us(10) > 0
    costs = hostile_costs()
    assert set(costs["park_us_per_record"]) == {"100", "20000"}
    assert costs["park_cost_ratio_large_to_small"] > 0
