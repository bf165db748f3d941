"""The bench's fan-out pipe and the offline count of the records the engine writes per event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.bench.fanout import NAMES, records_written
from engine.bench.raw_pipe import Copies
from engine.bench.workload import BenchRecord, build_records, deal_ids
from engine.workload.histories import HistoryOptions


@given(fanout=st.floats(min_value=1.0, max_value=12.0), n=st.integers(0, 3_000))
def test_copies_write_the_fanout_exactly_over_any_run_length(fanout: float, n: int) -> None:
    copies = Copies(fanout)
    each = [copies.next() for _ in range(n)]
    # Every record is copied the fan-out rounded down or up, never more, never skipped.
    assert set(each) <= {int(fanout), int(fanout) + 1}
    assert abs(sum(each) - n * fanout) < 1.0


def test_a_fanout_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="fanout must be at least 1"):
        Copies(0.5)


def _deals(phase: str, count: int) -> list[BenchRecord]:
    opts = HistoryOptions(base_time=datetime(2026, 12, 1, tzinfo=UTC))
    return build_records(deal_ids("fan", phase, count), opts)


def test_fresh_deals_write_commands_status_analytics_and_states() -> None:
    written = records_written(_deals("w", 3), _deals("m", 5))
    topics = written.by_topic
    assert written.events == len(_deals("m", 5))
    # Every status change goes to CRM and, with its own access rules, to analytics.
    status, analytics = NAMES.logical(NAMES.status), NAMES.logical(NAMES.analytics)
    assert topics[status] == topics[analytics] > 0
    assert topics[NAMES.logical(NAMES.state)] > 0
    assert sum(n for t, n in topics.items() if t.startswith("q2c.commands.")) > 0
    assert written.per_event == pytest.approx(sum(topics.values()) / written.events)
    assert written.per_event > 1.0


def test_redelivered_events_write_nothing() -> None:
    deals = _deals("r", 4)
    # The sagas recognise every event id they took: a redelivery is a no-op.
    written = records_written(deals, deals)
    assert written.per_event == 0.0, written.by_topic
