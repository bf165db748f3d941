"""SagaBoard: latest states, settledness and cycle times from status records (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from engine.contracts import SagaStatusChanged
from engine.simulators.board import SagaBoard, percentile

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def status(
    key: str,
    cause: str,
    to: str,
    at: datetime,
    *,
    frm: str | None = None,
    detail: str | None = None,
    saga_type: str = "quote-to-cash",
) -> SagaStatusChanged:
    return SagaStatusChanged(
        saga_type=saga_type,
        saga_key=key,
        from_state=frm,
        to_state=to,
        cause_event_id=str(uuid.uuid4()),
        cause_event_type=cause,
        occurred_at=at,
        recorded_at=at,
        detail=detail,
    )


def test_latest_state_counts_and_unsettled() -> None:
    board = SagaBoard(["D-1", "D-2", "D-3"])
    board.apply(status("D-1", "closed-won", "validating", T0))
    board.apply(status("D-1", "account-validation-failed", "exception", T0, frm="validating"))
    board.apply(status("D-2", "closed-won", "validating", T0))
    board.apply(status("D-9", "closed-won", "validating", T0))  # not ours: ignored
    assert board.state("quote-to-cash", "D-1") == "exception"
    assert board.counts() == {"exception": 1, "validating": 1, "waiting": 1}
    assert board.unsettled() == ["D-2", "D-3"]
    assert board.transitions == 3


def test_cycle_times_from_status_events() -> None:
    board = SagaBoard(["D-1"])
    board.apply(status("D-1", "closed-won", "validating", T0))
    board.apply(status("D-1", "project-activated", "scheduling_billing", T0 + timedelta(hours=20)))
    done = T0 + timedelta(days=10)
    board.apply(
        status(
            "D-1",
            "milestone-completed",
            "active",
            done,
            detail="milestone D-1-M1 completed: invoice requested",
        )
    )
    board.apply(
        status(
            "D-1",
            "invoice-issued",
            "active",
            done + timedelta(hours=3),
            detail="invoice INV-7 issued (D-1:invoice:milestone:D-1-M1)",
        )
    )
    # A T&M invoice is not a milestone invoice: no cycle time.
    board.apply(
        status(
            "D-1",
            "invoice-issued",
            "active",
            done,
            detail="invoice INV-8 issued (D-1:te-invoice:period:0)",
        )
    )
    assert board.activation_times() == [timedelta(hours=20)]
    assert board.invoice_times() == [timedelta(hours=3)]


def test_percentile_nearest_rank() -> None:
    assert percentile([], 50) is None
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([3.0], 95) == 3.0
