"""A broken saga definition fails when it is built (at import), naming saga, state and event;
a handler registered for the wrong event, or a command that is not a contract, fails mypy."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest
from mypy import api as mypy_api

from engine.contracts import (
    AccountValidated,
    ClosedWon,
    DealCancelled,
    InvoiceIssued,
    ProjectCreated,
)
from engine.saga import (
    Context,
    Outcome,
    SagaDefinition,
    SagaDefinitionError,
    Transition,
    park,
    timer,
    transition,
)

ROOT = Path(__file__).resolve().parents[2]


def _go(ctx: Context[object, Mapping[str, object]]) -> Outcome:
    return Outcome()


def _build(states: tuple[str, ...], *transitions: Transition, **extra: object) -> SagaDefinition:
    return SagaDefinition(
        name="broken",
        description="deliberately broken",
        starts_on=(ClosedWon,),
        states=states,
        terminal=("done",),
        transitions=(transition("pending", ClosedWon, "a", _go), *transitions),
        **extra,  # type: ignore[arg-type]
    )


def test_a_sound_definition_builds() -> None:
    built = _build(("pending", "a", "done"), transition("a", DealCancelled, "done", _go))
    assert built.consumed_event_types == {"closed-won", "deal-cancelled"}


@pytest.mark.parametrize(
    ("states", "transitions", "extra", "message"),
    [
        (
            ("pending", "a", "orphan", "done"),
            (transition("a", DealCancelled, "done", _go),),
            {},
            "broken: state 'orphan' is unreachable from 'pending' (no transition leads to it)",
        ),
        (
            ("pending", "a", "stuck", "done"),
            (
                transition("a", DealCancelled, "stuck", _go),
                transition("a", InvoiceIssued, "done", _go),
            ),
            {},
            "broken: state 'stuck' is a trap: not terminal and no transition leaves it",
        ),
        (
            ("pending", "a", "done"),
            (
                transition("a", timer("tick"), "a", _go),
                transition("pending", DealCancelled, "done", _go),
            ),
            {},
            "broken: state 'a' is a trap: not terminal and no transition leaves it "
            "(only ['timer:tick'] loop on it)",
        ),
        (
            ("pending", "a", "b", "done"),
            (
                transition("a", AccountValidated, "b", _go),
                transition("b", ProjectCreated, "a", _go),
                transition("pending", DealCancelled, "done", _go),
            ),
            {},
            "broken: state 'a' cannot reach a terminal state ('done',) (its transitions on "
            "['account-validated'] lead to ['b'])",
        ),
        (
            ("pending", "a", "done"),
            (Transition(("a",), "invoice-isued", ("done",), _go),),
            {},
            "broken: transition from 'a' on 'invoice-isued': no such event in the contracts",
        ),
        (
            ("pending", "a", "done"),
            (transition("a", DealCancelled, "done", _go),),
            {"park_in": (park(InvoiceIssued, "limbo"),)},
            "broken: cannot park 'invoice-issued' in 'limbo' (unknown or terminal state)",
        ),
    ],
)
def test_a_broken_definition_is_refused_with_saga_state_and_event(
    states: tuple[str, ...],
    transitions: tuple[Transition, ...],
    extra: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(SagaDefinitionError) as error:
        _build(states, *transitions, **extra)
    assert str(error.value) == message


def test_a_module_with_a_broken_definition_fails_at_import(tmp_path: Path) -> None:
    module = tmp_path / "broken_saga.py"
    module.write_text(
        textwrap.dedent(
            """
            from engine.contracts import ClosedWon, DealCancelled
            from engine.saga import Outcome, SagaDefinition, transition

            BROKEN = SagaDefinition(
                name="change-order",
                description="",
                starts_on=(ClosedWon,),
                states=("pending", "amending", "lost", "done"),
                terminal=("done",),
                transitions=(
                    transition("pending", ClosedWon, "amending", lambda ctx: Outcome()),
                    transition("amending", DealCancelled, "done", lambda ctx: Outcome()),
                ),
            )
            """
        )
    )
    spec = importlib.util.spec_from_file_location("broken_saga", module)
    assert spec is not None and spec.loader is not None
    with pytest.raises(SagaDefinitionError, match="change-order: state 'lost' is unreachable"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert "broken_saga" not in sys.modules


WRONG_TYPES = """
from engine.contracts import ClosedWon, InvoiceIssued, PaymentReceived
from engine.saga import Context, Outcome, TimerFiring, transition
from engine.sagas.quote_to_cash import QuoteToCashData

Ctx = Context[PaymentReceived, QuoteToCashData]


def record_payment(ctx: Ctx) -> Outcome:
    return Outcome(data={"project": ctx.data["projet_id"]})


def send_string_command(ctx: Context[InvoiceIssued, QuoteToCashData]) -> Outcome:
    return Outcome(effects=(ctx.send("issue-invoice", step="x"),))


WRONG_EVENT = transition("active", InvoiceIssued, "active", record_payment)
RIGHT = transition("active", InvoiceIssued, "active", send_string_command)
STRING_ON = transition("pending", "closed-won", "active", record_payment)


def read_wrong_fields(ctx: Context[InvoiceIssued, QuoteToCashData]) -> Outcome:
    number = ctx.payload.invoice.invoice_number
    return Outcome(detail=f"{number} {ctx.payload.payment.payment_id}")


def read_timer(ctx: Context[TimerFiring, QuoteToCashData]) -> Outcome:
    return Outcome(detail=ctx.payload.timer_id + str(ctx.payload.data["hours"]))
"""


def test_mypy_refuses_a_handler_for_another_event_a_command_by_name_and_a_wrong_field(
    tmp_path: Path,
) -> None:
    snippet = tmp_path / "wrong_types.py"
    snippet.write_text(WRONG_TYPES)
    out, _, status = mypy_api.run(
        [
            "--no-incremental",
            "--follow-imports=silent",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(snippet),
        ]
    )
    assert status == 1
    errors = [line for line in out.splitlines() if ": error:" in line]
    lines = sorted({int(line.split(":")[1]) for line in errors})
    # Line 10: a data key the saga's data does not have; 14: a command named by a string;
    # 17: a payment handler on invoice-issued; 19: an event named by a string; 23: a field the
    # invoice does not have; 24: a field of another event. Line 18 (the right registration)
    # and 28 (a timer's fields) are clean.
    assert lines == [10, 14, 17, 19, 23, 24], out
