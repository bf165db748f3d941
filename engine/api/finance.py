"""The finance console's read model (pure): money per currency and legal entity, invoices per
deal, revenue recognised, cycle-time histograms and SLA breach rates over time.

It reads what the deal saga recorded (its "invoices" view, the account's legal entity, the
activation SLA flag) and which invoices the revenue saga recognised. Amounts stay `Decimal`
until they are shown, as strings, so nothing is rounded on the way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.api.views import cycle_times, document
from engine.saga.model import SagaState
from engine.sagas import DEAL_SAGA
from engine.sagas import REGISTRY as SAGA_REGISTRY

HOUR = 3600.0
# Bucket edges in hours: invoices follow milestones within hours, payments come in days.
HISTOGRAM_EDGES_H = (0, 1, 6, 12, 24, 48, 72, 168, 336, 720, 1080, 1440, 2160)
HISTOGRAMS = ("milestone_to_invoice", "invoice_to_payment")
States = Mapping[tuple[str, str], SagaState]


@dataclass
class Money:
    """Running sums of one (currency, legal entity) row."""

    invoices: int = 0
    invoiced: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    overdue: Decimal = Decimal(0)
    overdue_invoices: int = 0
    recognised: Decimal = Decimal(0)
    deal_ids: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "deals": len(self.deal_ids),
            "invoices": self.invoices,
            "invoiced": str(self.invoiced),
            "paid": str(self.paid),
            "outstanding": str(self.invoiced - self.paid),
            "overdue": str(self.overdue),
            "overdue_invoices": self.overdue_invoices,
            "recognised": str(self.recognised),
        }


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def legal_entity(state: SagaState) -> str:
    """The selling legal entity the deal's account names (closed-won requires one)."""
    account = state.data.get("account") or {}
    return str(account.get("legal_entity") or "unknown")


def billing_status(state: str, invoices: list[dict[str, Any]], today: date) -> str:
    """What a person reads in the deal's billing column. A deal without invoices is
    `not invoiced` (never "all paid"), unless it ended without billing anything."""
    if not invoices:
        return "not invoiced" if state not in ("cancelled", "exception") else "nothing billed"
    unpaid = [i for i in invoices if not i["paid"]]
    if not unpaid:
        return "all paid"
    if any((d := _day(i["due_date"])) is not None and d < today for i in unpaid):
        return "overdue"
    return "outstanding"


def recognised_references(states: States) -> set[str]:
    """Invoice references any saga recognised revenue for (as its type's view declares)."""
    out: set[str] = set()
    for (saga_type, _key), s in states.items():
        registered = SAGA_REGISTRY.get(saga_type)
        recognised = registered.hooks.view.recognised_invoices if registered else None
        if recognised is not None:
            out.update(recognised(s.data))
    return out


def histogram(seconds: Iterable[float], edges_h: tuple[int, ...] = HISTOGRAM_EDGES_H) -> dict:
    """Counts per bucket [edge_i, edge_i+1) hours; the last bucket is open-ended."""
    counts = [0] * len(edges_h)
    for s in seconds:
        hours = s / HOUR
        index = max(i for i, edge in enumerate(edges_h) if hours >= edge)
        counts[index] += 1
    return {"edges_h": list(edges_h), "counts": counts}


def sla_by_day(deals: Iterable[SagaState]) -> list[dict[str, Any]]:
    """Per closed-won day (event time): deals won, how many breached their activation SLA."""
    won: Counter[date] = Counter()
    breached: Counter[date] = Counter()
    for s in deals:
        day = _day(s.data.get("closed_won_at"))
        if day is None:
            continue
        won[day] += 1
        breached[day] += bool(s.data.get("sla_breached"))
    return [
        {
            "day": day.isoformat(),
            "deals": won[day],
            "breached": breached[day],
            "rate": breached[day] / won[day],
        }
        for day in sorted(won)
    ]


def finance(states: States, now: datetime) -> dict[str, Any]:
    """The finance console: totals per (currency, legal entity), deals with their invoices,
    billing status counts, cycle-time histograms and SLA breach rates over time."""
    found = document("invoices")
    deals = sorted((s for (t, _), s in states.items() if t == DEAL_SAGA), key=lambda s: s.saga_key)
    recognised = recognised_references(states)
    today = now.date()
    rows: dict[tuple[str, str], Money] = {}
    deal_rows = []
    for s in deals:
        invoices = found[1](s)["invoices"] if found else []
        entity = legal_entity(s)
        status = billing_status(s.state, invoices, today)
        currency = str((s.data.get("contract") or {}).get("currency") or "")
        deal_money = Money()
        for inv in invoices:
            cur = inv["currency"] or currency
            row = rows.setdefault((cur, entity), Money())
            for m in (row, deal_money):
                total, paid = _decimal(inv["total"]), _decimal(inv["paid_amount"])
                m.invoices += 1
                m.invoiced += total
                m.paid += min(paid, total)
                due = _day(inv["due_date"])
                if not inv["paid"] and due is not None and due < today:
                    m.overdue += total - min(paid, total)
                    m.overdue_invoices += 1
                if inv["reference"] in recognised:
                    m.recognised += total
                m.deal_ids.add(s.saga_key)
        if not invoices and currency:
            rows.setdefault((currency, entity), Money()).deal_ids.add(s.saga_key)
        deal_rows.append(
            {
                "deal_id": s.saga_key,
                "state": s.state,
                "legal_entity": entity,
                "currency": currency,
                "billing": status,
                **{k: v for k, v in deal_money.to_json().items() if k != "deals"},
                "invoice_list": [
                    {k: inv[k] for k in ("invoice_id", "total", "paid", "due_date", "paid_at")}
                    for inv in invoices
                ],
            }
        )
    cycles = cycle_times(deals)
    return {
        "as_of": now.isoformat(),
        "totals": [
            {"currency": cur, "legal_entity": entity, **money.to_json()}
            for (cur, entity), money in sorted(rows.items())
        ],
        "billing": dict(sorted(Counter(d["billing"] for d in deal_rows).items())),
        "deals": deal_rows,
        "histograms": {name: histogram(cycles.get(name, [])) for name in HISTOGRAMS},
        "sla": sla_by_day(deals),
    }
