"""The overview's tally: cycle-time quantiles within half a bucket, and parts taken back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.runtime.overview import BUCKET_RATIO, Contribution, OverviewTally, tally_of

_seconds = st.floats(min_value=1.0, max_value=400 * 86_400.0)
# Half a bucket either way of the value that was added, in relative terms.
HALF_BUCKET = BUCKET_RATIO**0.5 - 1


def _close(reported: float | None, exact: float) -> bool:
    return reported is not None and abs(reported - exact) <= HALF_BUCKET * exact * 1.0001


@given(values=st.lists(_seconds, min_size=1, max_size=200))
def test_quantiles_are_the_pages_ranks_within_half_a_bucket(values: list[float]) -> None:
    tally = tally_of([Contribution("quote-to-cash", "active", frozenset(), {"c": values})])
    ordered = sorted(values)
    summary = tally.cycle_summary("c")
    assert summary["count"] == len(values)
    for label, q in (("median", 0.5), ("p90", 0.9)):
        assert _close(summary[label], ordered[min(len(values) - 1, int(q * len(values)))])
    assert _close(summary["max"], ordered[-1])


@given(
    kept=st.lists(st.lists(_seconds, max_size=3), max_size=20),
    gone=st.lists(st.lists(_seconds, max_size=3), max_size=20),
)
def test_a_part_taken_back_leaves_the_tally_as_without_it(
    kept: list[list[float]], gone: list[list[float]]
) -> None:
    def part(i: int, values: list[float]) -> Contribution:
        return Contribution(
            "quote-to-cash", "active", frozenset({"active", f"s{i % 3}"}), {"c": values}
        )

    tally = OverviewTally()
    for i, values in enumerate(gone + kept):
        tally.add(part(i, values))
    for i, values in enumerate(gone):
        tally.remove(part(i, values))
    expected = tally_of(part(len(gone) + i, v) for i, v in enumerate(kept))
    assert (tally.paths, tally.cycles) == (expected.paths, expected.cycles)
    assert tally.reached("quote-to-cash", "active") == len(kept)


def test_an_empty_cycle_has_a_count_and_no_values() -> None:
    assert OverviewTally().cycle_summary("c") == {
        "count": 0,
        "median": None,
        "p90": None,
        "max": None,
    }
