"""Builders of event histories for the saga tests, and a driver that folds them through `step`.

Payloads follow schemas/CONTRACTS.md (fields after `envelope`, plain Python values) and are
validated into their contract models, as the runtime's decoder does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.saga import (
    Correlate,
    Effect,
    SagaCommand,
    SagaDefinition,
    SagaEvent,
    SagaState,
    StatusChange,
    due_timers,
    step,
)
from engine.saga.payload import payload_from_fields
from tests.unit.built_records import check_built_record

DEAL = "D-1"
PROJECT = "P-1"
CURRENCY = "EUR"
T0 = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
# `step` stamps history with `now` only; a fixed value keeps runs comparable.
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def money(amount: str | Decimal, currency: str = CURRENCY) -> dict[str, Any]:
    return {"amount": Decimal(amount), "currency": currency}


def account() -> dict[str, Any]:
    return {
        "account_id": "A-1",
        "name": "Acme GmbH",
        "parent_account_id": None,
        "legal_entity": "LE-DE",
        "country": "DE",
        "currency": CURRENCY,
        "tax_registration": "DE123",
    }


def milestone_contract(
    milestones: Sequence[tuple[str, str]] = (("M1", "1000"), ("M2", "500")),
) -> dict[str, Any]:
    total = sum((Decimal(a) for _, a in milestones), Decimal(0))
    return {
        "contract_id": "C-1",
        "billing_model": "MILESTONE",
        "currency": CURRENCY,
        "total_value": money(total),
        "payment_terms_days": 30,
        "start_date": date(2024, 1, 1),
        "end_date": date(2024, 6, 30),
        "milestones": [
            {
                "milestone_id": mid,
                "name": f"Milestone {mid}",
                "amount": money(amount),
                "due_date": date(2024, 3, 1),
            }
            for mid, amount in milestones
        ],
        "rate_card": None,
        "billing_period_days": 30,
    }


def tm_contract(
    start: date = date(2024, 1, 1),
    end: date = date(2024, 2, 29),
    period_days: int = 30,
    rates: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    rates = rates or {"engineer": "100.00", "architect": "150.00"}
    return {
        "contract_id": "C-2",
        "billing_model": "TIME_AND_MATERIALS",
        "currency": CURRENCY,
        "total_value": money("50000"),
        "payment_terms_days": 14,
        "start_date": start,
        "end_date": end,
        "milestones": [],
        "rate_card": {
            "rate_card_id": "RC-1",
            "currency": CURRENCY,
            "rates": [{"role": r, "hourly_rate": money(v)} for r, v in rates.items()],
        },
        "billing_period_days": period_days,
    }


@dataclass
class History:
    """Makes events of one deal with unique ids and increasing occurred_at."""

    deal_id: str = DEAL
    at: datetime = T0
    counter: int = 0

    def event(
        self, event_type: str, payload: Mapping[str, Any], at: datetime | None = None
    ) -> SagaEvent:
        """The event as the runtime hands it to a saga: its payload validated as its contract."""
        self.counter += 1
        self.at = at or self.at + timedelta(minutes=1)
        event_id = f"ev-{self.counter}"
        model = payload_from_fields(event_type, event_id, self.at, payload)
        return SagaEvent(event_id, event_type, self.deal_id, self.at, model)

    def closed_won(self, contract: Mapping[str, Any], sla_hours: int = 72) -> SagaEvent:
        return self.event(
            "closed-won",
            {
                "deal_id": self.deal_id,
                "account": account(),
                "contract": contract,
                "activation_sla_hours": sla_hours,
            },
        )

    def account_validated(self) -> SagaEvent:
        return self.event(
            "account-validated",
            {
                "deal_id": self.deal_id,
                "account_id": "A-1",
                "legal_entity": "LE-DE",
                "currency": CURRENCY,
                "tax_registration": "DE123",
            },
        )

    def account_validation_failed(self, reason: str = "unknown legal entity") -> SagaEvent:
        return self.event(
            "account-validation-failed",
            {"deal_id": self.deal_id, "account_id": "A-1", "reason": reason},
        )

    def retry(self, attempt: int) -> SagaEvent:
        return self.event(
            "exception-retry-requested",
            {
                "deal_id": self.deal_id,
                "attempt": attempt,
                "requested_by": "ops",
                "reason": "master data fixed",
            },
        )

    def cancel_exception(self) -> SagaEvent:
        return self.event(
            "exception-cancel-requested",
            {"deal_id": self.deal_id, "requested_by": "ops", "reason": "given up"},
        )

    def project_created(self, project_id: str = PROJECT) -> SagaEvent:
        return self.event("project-created", {"deal_id": self.deal_id, "project_id": project_id})

    def project_activated(self, project_id: str = PROJECT) -> SagaEvent:
        return self.event("project-activated", {"project_id": project_id, "activated_at": self.at})

    def billing_schedule_created(self, project_id: str = PROJECT) -> SagaEvent:
        return self.event(
            "billing-schedule-created", {"project_id": project_id, "schedule_id": "S-1"}
        )

    def milestone_completed(self, milestone_id: str, project_id: str = PROJECT) -> SagaEvent:
        return self.event(
            "milestone-completed",
            {"project_id": project_id, "milestone_id": milestone_id, "completed_at": self.at},
        )

    def invoice_issued(
        self, invoice_id: str, reference: str, total: str, due: date = date(2024, 4, 1)
    ) -> SagaEvent:
        invoice = {
            "invoice_id": invoice_id,
            "invoice_reference": reference,
            "project_id": PROJECT,
            "lines": [
                {
                    "description": reference,
                    "quantity": Decimal(1),
                    "unit_price": money(total),
                    "amount": money(total),
                }
            ],
            "total": money(total),
            "due_date": due,
        }
        return self.event("invoice-issued", {"invoice": invoice})

    def payment_received(self, payment_id: str, invoice_id: str, amount: str) -> SagaEvent:
        payment = {
            "payment_id": payment_id,
            "invoice_id": invoice_id,
            "amount": money(amount),
            "received_at": self.at,
        }
        return self.event("payment-received", {"payment": payment})

    def payment_failed(
        self, invoice_id: str, attempt: int, amount: str, failed_at: datetime | None = None
    ) -> SagaEvent:
        failure = {
            "invoice_id": invoice_id,
            "amount_due": money(amount),
            "attempt_count": attempt,
            "failed_at": failed_at or self.at,
            "reason": "card_declined",
        }
        return self.event("payment-failed", failure)

    def deal_cancelled(self, reason: str = "customer withdrew") -> SagaEvent:
        return self.event("deal-cancelled", {"deal_id": self.deal_id, "reason": reason})

    def time_entry(self, entry_id: str, role: str, work_date: date, hours: str) -> SagaEvent:
        entry = {
            "entry_id": entry_id,
            "resource": {"resource_id": f"R-{role}", "name": role.title(), "role": role},
            "work_date": work_date,
            "hours": Decimal(hours),
            "description": "work",
        }
        return self.event("time-entry-approved", {"project_id": PROJECT, "entry": entry})

    def expense(
        self, expense_id: str, category: str, day: date, amount: str, currency: str = CURRENCY
    ) -> SagaEvent:
        expense = {
            "expense_id": expense_id,
            "resource_id": "R-engineer",
            "expense_date": day,
            "category": category,
            "amount": money(amount, currency),
        }
        return self.event("expense-approved", {"project_id": PROJECT, "expense": expense})


def milestone_ref(milestone_id: str, deal_id: str = DEAL) -> str:
    return f"{deal_id}:invoice:milestone:{milestone_id}"


@dataclass(frozen=True)
class Tick:
    """Advance the clock: fire every timer due at `now` (as the runtime's scheduler would)."""

    now: datetime


Item = SagaEvent | Tick


@dataclass
class Run:
    """The result of folding a history: final state and every effect, in order."""

    state: SagaState
    effects: list[Effect] = field(default_factory=list)

    @property
    def commands(self) -> list[SagaCommand]:
        return [e for e in self.effects if isinstance(e, SagaCommand)]

    @property
    def keys(self) -> set[str]:
        return {c.idempotency_key for c in self.commands}

    def command_types(self) -> list[str]:
        return [c.command_type for c in self.commands]

    def by_key(self) -> dict[str, Mapping[str, Any]]:
        return {c.idempotency_key: c.payload for c in self.commands}

    def statuses(self) -> list[StatusChange]:
        return [e for e in self.effects if isinstance(e, StatusChange)]

    def correlations(self) -> set[Correlate]:
        return {e for e in self.effects if isinstance(e, Correlate)}


def run(definition: SagaDefinition, items: Iterable[Item], state: SagaState | None = None) -> Run:
    """Fold `items` through `step`. At a Tick, fire due timers until none is due, as a
    scheduler would: firing one timer may arm another that is already due. A redelivered event
    (an id already fed) must leave the state and effects untouched."""
    effects: list[Effect] = []
    fed: set[str] = set()

    def feed(event: SagaEvent) -> None:
        nonlocal state
        decision = step(definition, state, event, NOW)
        if event.event_id in fed:
            # Every test checks the engine's dedupe invariant on every redelivery.
            assert decision.state is state and decision.effects == (), event
        fed.add(event.event_id)
        state = decision.state
        for effect in decision.effects:
            check_built_record(effect, NOW)
        effects.extend(decision.effects)

    for item in items:
        if isinstance(item, SagaEvent):
            feed(item)
            continue
        assert state is not None, "a Tick needs a saga instance"
        while due := due_timers(state, item.now):
            feed(due[0])
    assert state is not None, "an empty history"
    return Run(state, effects)


def milestone_happy_path(h: History) -> list[SagaEvent]:
    """A MILESTONE deal from closed-won to the last payment, in causal order."""
    return [
        h.closed_won(milestone_contract()),
        h.account_validated(),
        h.project_created(),
        h.project_activated(),
        h.billing_schedule_created(),
        h.milestone_completed("M1"),
        h.invoice_issued("I-1", milestone_ref("M1"), "1000"),
        h.payment_received("PAY-1", "I-1", "1000"),
        h.milestone_completed("M2"),
        h.invoice_issued("I-2", milestone_ref("M2"), "500"),
        h.payment_received("PAY-2", "I-2", "500"),
    ]
