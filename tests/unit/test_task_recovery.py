"""Which failed commits rebuild a task's producer, drop the task, or simply retry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.kafka.client import (
    InvalidProducerEpoch,
    KafkaError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
)
from engine.runtime.recovery import (
    FENCE_GRACE_S,
    RECREATE_AFTER_FAILURES,
    RETRY_CAP_S,
    Action,
    decide,
    retry_delay_s,
)


@pytest.mark.parametrize("error", [ProducerFenced, InvalidProducerEpoch])
def test_a_fence_after_a_group_change_is_a_takeover(error: type[Exception]) -> None:
    d = decide(error(), producer_broken=True, generation_moved=True, failures=1)
    assert d.action is Action.DROP


@pytest.mark.parametrize("error", [ProducerFenced, InvalidProducerEpoch])
def test_a_fence_in_the_same_generation_rebuilds_the_producer_after_a_grace(
    error: type[Exception],
) -> None:
    # The broker's transaction timeout fenced us during an outage: nobody else will come.
    d = decide(error(), producer_broken=True, generation_moved=False, failures=1)
    assert d.action is Action.RECREATE
    assert d.delay_s == FENCE_GRACE_S
    assert "without a group change" in d.reason


def test_out_of_order_sequence_rebuilds_at_once_whatever_the_group_did() -> None:
    for moved in (False, True):
        d = decide(
            OutOfOrderSequenceNumber(), producer_broken=True, generation_moved=moved, failures=1
        )
        assert d.action is Action.RECREATE and d.delay_s == 0


def test_a_dead_producer_is_rebuilt_even_for_an_ordinary_error() -> None:
    d = decide(
        AssertionError("bad state"), producer_broken=True, generation_moved=False, failures=1
    )
    assert d.action is Action.RECREATE


@given(st.integers(min_value=1, max_value=50))
def test_ordinary_errors_retry_until_they_repeat(failures: int) -> None:
    d = decide(
        KafkaError("timeout"), producer_broken=False, generation_moved=False, failures=failures
    )
    expected = Action.RECREATE if failures >= RECREATE_AFTER_FAILURES else Action.RETRY
    assert d.action is expected


@given(st.integers(min_value=0, max_value=200))
def test_recovery_retries_back_off_and_stay_capped(attempt: int) -> None:
    assert 0 < retry_delay_s(attempt) <= RETRY_CAP_S
    assert retry_delay_s(attempt) <= retry_delay_s(attempt + 1)
