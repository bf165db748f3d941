"""The generic engine on a small toy definition: dedupe, parking, draining, timers, terminals."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.contracts import (
    AccountValidated,
    ClosedWon,
    DealCancelled,
    Escalate,
    InvoiceIssued,
    MilestoneCompleted,
    PaymentReceived,
    ProjectActivated,
    ProjectCreated,
)
from engine.contracts.registry import EVENT_MODELS
from engine.saga import (
    CancelTimer,
    Context,
    Outcome,
    SagaDefinition,
    SagaDefinitionError,
    SagaEvent,
    SetTimer,
    StatusChange,
    due_timers,
    next_timer_at,
    park,
    step,
    timer,
    transition,
)
from engine.saga import engine as saga_engine
from engine.saga.engine import ParkedLimit
from engine.saga.model import HistoryRecord, SagaState, Timer
from engine.saga.payload import TIMER_FIRED, TimerFiring
from engine.saga.seen import SeenIds

T = datetime(2024, 1, 1, tzinfo=UTC)


def _start(ctx: Context) -> Outcome:
    return Outcome(
        effects=(SetTimer("t1", "nudge", T + timedelta(hours=1), {"n": 1}),),
        data={"log": [ClosedWon]},
    )


def _log(name: str):  # type: ignore[no-untyped-def]
    def handler(ctx: Context) -> Outcome:
        return Outcome(data={"log": [*ctx.data["log"], name]})

    handler.__name__ = name
    return handler


def _nudge(ctx: Context) -> Outcome:
    # Stays in whichever of its source states it is in.
    log = [*ctx.data["log"], f"nudge-{ctx.payload.data['n']}"]
    return Outcome(to=ctx.state, data={"log": log}, detail="nudged")


def _finish(ctx: Context) -> Outcome:
    return Outcome(to="done", data={"log": [*ctx.data["log"], ProjectActivated]})


TOY = SagaDefinition(
    name="toy",
    description="a -> b -> c -> done",
    starts_on=(ClosedWon,),
    states=("pending", "a", "b", "c", "done"),
    terminal=("done",),
    transitions=(
        transition("pending", ClosedWon, "a", _start),
        transition("a", AccountValidated, "b", _log("b")),
        transition("b", ProjectCreated, "c", _log("c")),
        transition(
            ("a", "b"),
            timer("nudge"),
            ("a", "b"),
            _nudge,
        ),
        transition("c", ProjectActivated, ("c", "done"), _finish),
    ),
    park_in=(
        park(ProjectCreated, "a"),
        park(ProjectActivated, ("a", "b")),
        park(DealCancelled, "a"),
    ),
)


def ev(n: int, event_type: str) -> SagaEvent:
    # The toy's handlers read no event field: an empty (unvalidated) model of the type will do.
    return SagaEvent(
        f"e{n}",
        event_type,
        "k",
        T + timedelta(minutes=n),
        EVENT_MODELS[event_type].model_construct(),
    )


def test_start_creates_instance_and_reports_no_from_state() -> None:
    decision = step(TOY, None, ev(1, "closed-won"), T)
    assert decision.state.state == "a"
    assert decision.state.version == 1
    (status,) = [e for e in decision.effects if isinstance(e, StatusChange)]
    assert (status.from_state, status.to_state, status.cause_event_id) == (None, "a", "e1")
    assert decision.state.timers["t1"].name == "nudge"


def test_duplicate_event_id_is_a_no_op() -> None:
    first = step(TOY, None, ev(1, "closed-won"), T).state
    again = step(TOY, first, ev(1, "closed-won"), T)
    assert again.state is first
    assert again.effects == ()


def test_reply_before_start_waits_in_pending_placeholder() -> None:
    decision = step(TOY, None, ev(1, "account-validated"), T)
    assert decision.state.state == "pending"
    assert [e.event_id for e in decision.state.parked] == ["e1"]
    assert decision.effects == ()
    started = step(TOY, decision.state, ev(2, "closed-won"), T).state
    assert started.state == "b"
    assert started.parked == ()
    assert started.data["log"] == [ClosedWon, "b"]


def test_parked_events_drain_repeatedly_in_arrival_order() -> None:
    state = step(TOY, None, ev(1, "closed-won"), T).state
    state = step(TOY, state, ev(2, "project-activated"), T).state  # parked in a
    state = step(TOY, state, ev(3, "project-created"), T).state  # parked in a
    assert [e.event_id for e in state.parked] == ["e2", "e3"]
    decision = step(TOY, state, ev(4, "account-validated"), T)
    # go-b applies, then go-c (only now acceptable), then finish (needs c): one pass is not enough.
    assert decision.state.data["log"] == [ClosedWon, "b", "c", ProjectActivated]
    assert decision.state.state == "done"
    assert [s.to_state for s in decision.effects if isinstance(s, StatusChange)] == [
        "b",
        "c",
        "done",
    ]
    assert [s.cause_event_id for s in decision.effects if isinstance(s, StatusChange)] == [
        "e4",
        "e3",
        "e2",
    ]


def test_event_never_valid_is_ignored_with_a_note() -> None:
    state = step(TOY, None, ev(1, "closed-won"), T).state
    decision = step(TOY, state, ev(2, "payment-received"), T)
    assert decision.effects == ()
    assert decision.state.state == "a"
    assert decision.state.parked == ()
    note = decision.state.history[-1]
    assert note.event_id == "e2" and note.note is not None and note.note.startswith("ignored")
    # and it is remembered: the same id again changes nothing.
    assert step(TOY, decision.state, ev(2, "payment-received"), T).state is decision.state


def test_parked_event_no_longer_acceptable_is_discarded_with_a_note() -> None:
    state = step(TOY, None, ev(1, "closed-won"), T).state
    state = step(TOY, state, ev(2, "deal-cancelled"), T).state  # may wait in a only
    assert [e.event_id for e in state.parked] == ["e2"]
    # A nudge keeps the saga in a: the stray event still waits.
    state = step(TOY, state, due_timers(state, T + timedelta(hours=2))[0], T).state
    assert [e.event_id for e in state.parked] == ["e2"]
    state = step(TOY, state, ev(3, "account-validated"), T).state
    assert state.parked == ()
    assert state.history[-1].event_id == "e2"
    assert state.history[-1].note is not None and "discarded" in state.history[-1].note


def test_timers_fire_once_and_stale_firings_are_ignored() -> None:
    state = step(TOY, None, ev(1, "closed-won"), T).state
    assert next_timer_at(state) == T + timedelta(hours=1)
    assert due_timers(state, T + timedelta(minutes=59)) == []
    (fired,) = due_timers(state, T + timedelta(hours=1))
    assert fired.event_type == TIMER_FIRED
    assert fired.event_id == "toy:k:timer:t1"
    assert fired.payload == TimerFiring("t1", "nudge", {"n": 1})
    decision = step(TOY, state, fired, T)
    assert decision.state.timers == {}
    assert decision.state.data["log"] == [ClosedWon, "nudge-1"]
    assert [e.detail for e in decision.effects if isinstance(e, StatusChange)] == ["nudged"]
    # A firing of a timer that is no longer armed (other id) is only noted.
    stale = SagaEvent("toy:k:timer:zz", TIMER_FIRED, "k", T, TimerFiring("zz", "nudge"))
    after = step(TOY, decision.state, stale, T)
    assert after.effects == ()
    assert after.state.data == decision.state.data


def test_terminal_state_disarms_timers_and_drops_parked_events() -> None:
    def to_done(ctx: Context) -> Outcome:
        return Outcome()

    definition = SagaDefinition(
        name="t2",
        description="",
        starts_on=(ClosedWon,),
        states=("pending", "a", "done"),
        terminal=("done",),
        transitions=(
            transition("pending", ClosedWon, "a", _start),
            transition("a", InvoiceIssued, "done", to_done),
        ),
        park_in=(park(MilestoneCompleted, "a"),),
    )
    state = step(definition, None, ev(1, "closed-won"), T).state
    state = step(definition, state, ev(2, "milestone-completed"), T).state
    decision = step(definition, state, ev(3, "invoice-issued"), T)
    assert CancelTimer("t1") in decision.effects
    assert decision.state.timers == {}
    assert decision.state.parked == ()
    assert decision.state.history[-1].note is not None
    assert "discarded" in decision.state.history[-1].note


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"states": ("a", "b")}, "must include 'pending'"),
        ({"terminal": ("zzz",)}, "unknown terminal"),
        ({"starts_on": (PaymentReceived,)}, "no transition out of 'pending'"),
        ({"park_in": (park(DealCancelled, "done"),)}, "cannot park"),
        ({"transitions": (transition("pending", ClosedWon, "nowhere", _start),)}, "unknown state"),
    ],
)
def test_inconsistent_definitions_are_rejected(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "name": "bad",
        "description": "",
        "starts_on": (ClosedWon,),
        "states": ("pending", "a", "b", "done"),
        "terminal": ("done",),
        "transitions": (transition("pending", ClosedWon, "a", _start),),
    }
    with pytest.raises(SagaDefinitionError, match=message):
        SagaDefinition(**{**base, **kwargs})  # type: ignore[arg-type]


def test_handler_choosing_an_undeclared_target_is_an_error() -> None:
    definition = SagaDefinition(
        name="liar",
        description="",
        starts_on=(ClosedWon,),
        states=("pending", "a", "b"),
        terminal=("b",),
        transitions=(
            transition("pending", ClosedWon, "a", lambda ctx: Outcome(to="b")),
            transition("a", AccountValidated, "b", lambda ctx: Outcome()),
        ),
    )
    with pytest.raises(SagaDefinitionError, match="declared targets"):
        step(definition, None, ev(1, "closed-won"), T)


def test_consumed_event_types_fold_timers() -> None:
    assert TOY.consumed_event_types == {
        "closed-won",
        "account-validated",
        "project-created",
        "project-activated",
        "deal-cancelled",
        TIMER_FIRED,
    }


def test_a_command_with_a_field_its_contract_lacks_names_the_command_and_the_field() -> None:
    def bad(ctx: Context) -> Outcome:
        return Outcome(effects=(ctx.send(Escalate, step="x", deal_id="D", kind="k", detial="d"),))

    definition = SagaDefinition(
        name="broken-send",
        description="a handler that misspells a command field",
        starts_on=(ClosedWon,),
        states=("pending", "done"),
        terminal=("done",),
        transitions=(transition("pending", ClosedWon, "done", bad),),
    )
    event = SagaEvent(
        "e-1", "closed-won", "D", datetime(2024, 1, 1, tzinfo=UTC), ClosedWon.model_construct()
    )
    with pytest.raises(SagaDefinitionError) as error:
        step(definition, None, event, datetime(2024, 1, 1, tzinfo=UTC))
    assert "escalate" in str(error.value)
    assert "unknown fields ['detial'], missing fields ['detail']" in str(error.value)


def test_a_saga_refuses_to_park_past_its_bound_and_stays_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A flood of valid events for a saga that never starts must not grow its state (and the
    cost of every later event) without bound: past the bound the event is refused."""
    monkeypatch.setattr(saga_engine, "MAX_PARKED_EVENTS", 3)
    state = None
    for n in range(3):
        state = step(TOY, state, ev(n, "account-validated"), T).state
    assert state is not None and len(state.parked) == 3
    with pytest.raises(ParkedLimit, match="toy k already holds 3 parked events"):
        step(TOY, state, ev(9, "account-validated"), T)
    # Refused, not seen: once the saga starts, a redelivery of the event is applied.
    assert "e9" not in state.seen
    started = step(TOY, state, ev(10, "closed-won"), T).state
    assert started.state == "b" and not started.parked


def test_evolve_carries_every_field_it_is_not_told_to_change() -> None:
    """`evolve` names the fields one by one (for speed): a field added to SagaState and not
    to `evolve` would be reset to its default on every step."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    values: dict[str, object] = {
        "saga_type": "t",
        "saga_key": "k",
        "state": "active",
        "data": {"a": 1},
        "parked": (SagaEvent("e", "x", "k", at, None),),  # type: ignore[arg-type]
        "seen": SeenIds.of(["e"]),
        "timers": {"sla": Timer("sla", at, {})},
        "history": (HistoryRecord(None, "active", "e", "x", at),),
        "version": 7,
    }
    assert set(values) == {f.name for f in dataclasses.fields(SagaState)}
    full = SagaState(**values)  # type: ignore[arg-type]
    for name in values:
        change: dict[str, Any] = {name: values[name]}
        assert SagaState("t", "k").evolve(**change) == dataclasses.replace(
            SagaState("t", "k"), **change
        )
    assert full.evolve() == full
    with pytest.raises(TypeError, match="no field 'stat'"):
        full.evolve(stat="x")
