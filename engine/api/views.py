"""JSON views of saga states for the read API (pure: no I/O, no clock of their own)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.dlq.filters import group_counts
from engine.dlq.records import DeadLetter
from engine.runtime.names import TopicNames
from engine.runtime.store import StoreKey
from engine.saga.model import SagaState
from engine.sagas.quote_to_cash import NAME as QUOTE_TO_CASH

# The happy path of a deal, in order: the funnel counts deals that ever reached each state.
FUNNEL = (
    "validating",
    "creating_project",
    "awaiting_activation",
    "scheduling_billing",
    "active",
    "completed",
)
# Business timestamps (event time) kept in quote-to-cash data, as (cycle, start, end).
CYCLES = (
    ("closed_won_to_activation", "closed_won_at", "activated_at"),
    ("activation_to_billing_ready", "activated_at", "billing_ready_at"),
)
# Data fields safe to show any viewer: ids and timestamps, never amounts, names or tax ids.
SAFE_DATA_FIELDS = (
    "deal_id",
    "project_id",
    "schedule_id",
    "closed_won_at",
    "activated_at",
    "billing_ready_at",
    "attempt",
    "reason",
    "sla_breached",
    "contract_ended",
    "cancelled_in",
)

States = Mapping[StoreKey, SagaState]
RECENT_DEAD_LETTERS = 200


def jsonable(value: Any) -> Any:
    """Dates as ISO strings and Decimals as strings (exact amounts), recursively."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def entered_current_state(state: SagaState) -> datetime | None:
    """When the saga entered its current state (engine clock), from its history."""
    for record in reversed(state.history):
        if record.to_state == state.state and record.from_state != state.state:
            return record.at
    return state.history[0].at if state.history else None


def created_at(state: SagaState) -> datetime | None:
    """When the saga's first event was processed (engine clock)."""
    return state.history[0].at if state.history else None


def _age(since: datetime | None, now: datetime) -> float | None:
    return None if since is None else max(0.0, (now - since).total_seconds())


def saga_summary(state: SagaState, now: datetime) -> dict[str, Any]:
    """One line of a saga list."""
    since = entered_current_state(state)
    return {
        "saga_type": state.saga_type,
        "saga_key": state.saga_key,
        "state": state.state,
        "version": state.version,
        "created_at": jsonable(created_at(state)),
        "in_state_since": jsonable(since),
        "in_state_seconds": _age(since, now),
    }


def saga_detail(state: SagaState, now: datetime) -> dict[str, Any]:
    """Everything the API shows of one saga: parked events, timers and its full history."""
    return {
        **saga_summary(state, now),
        "data": {k: jsonable(state.data[k]) for k in SAFE_DATA_FIELDS if k in state.data},
        "parked": [
            {
                "event_id": e.event_id,
                "event_type": e.event_type,
                "occurred_at": jsonable(e.occurred_at),
            }
            for e in state.parked
        ],
        "timers": [
            {"timer_id": timer_id, "name": t.name, "fire_at": jsonable(t.fire_at)}
            for timer_id, t in sorted(state.timers.items(), key=lambda kv: kv[1].fire_at)
        ],
        "history": [
            {
                "from_state": r.from_state,
                "to_state": r.to_state,
                "event_id": r.event_id,
                "event_type": r.event_type,
                "at": jsonable(r.at),
                "note": r.note,
            }
            for r in state.history
        ],
    }


def sagas_of_key(states: States, saga_key: str) -> list[SagaState]:
    """Every saga type's instance for one key (a deal has quote-to-cash and more)."""
    return sorted(
        (s for (_, key), s in states.items() if key == saga_key), key=lambda s: s.saga_type
    )


def select(
    states: States,
    now: datetime,
    *,
    saga_type: str | None = None,
    state: str | None = None,
    min_age_s: float | None = None,
) -> list[SagaState]:
    """Sagas filtered by type, state and minimum time in their current state, sorted by key."""
    out = []
    for (t, _key), s in states.items():
        if saga_type is not None and t != saga_type:
            continue
        if state is not None and s.state != state:
            continue
        if min_age_s is not None:
            age = _age(entered_current_state(s), now)
            if age is None or age < min_age_s:
                continue
        out.append(s)
    return sorted(out, key=lambda s: (s.saga_type, s.saga_key))


def page(items: list[Any], offset: int, limit: int) -> dict[str, Any]:
    """A slice of `items` with the paging envelope."""
    return {
        "total": len(items),
        "offset": offset,
        "limit": limit,
        "items": items[offset : offset + limit],
    }


def invoice_status(state: SagaState) -> dict[str, Any]:
    """Invoices and payments of a deal as the quote-to-cash saga recorded them (not billing's)."""
    data = state.data
    by_reference = {ref: mid for mid, ref in data.get("invoiced_milestones", {}).items()}
    invoices = []
    for invoice_id, inv in sorted(data.get("invoices", {}).items()):
        total = inv.get("total", {})
        invoices.append(
            {
                "invoice_id": invoice_id,
                "reference": inv.get("reference"),
                "milestone_id": by_reference.get(inv.get("reference")),
                "total": jsonable(total.get("amount")),
                "currency": total.get("currency"),
                "paid_amount": jsonable(inv.get("paid_amount")),
                "paid": bool(inv.get("paid")),
                "issued_at": jsonable(inv.get("issued_at")),
                "due_date": jsonable(inv.get("due_date")),
                "paid_at": jsonable(inv.get("paid_at")),
                "payment_ids": list(inv.get("payment_ids", [])),
                "dunned": invoice_id in data.get("dunned", []),
            }
        )
    issued_refs = {inv["reference"] for inv in invoices}
    requested = sorted(
        mid for mid, ref in data.get("invoiced_milestones", {}).items() if ref not in issued_refs
    )
    return {
        "deal_id": state.saga_key,
        "state": state.state,
        "invoices": invoices,
        "requested_not_issued": requested,
        "all_paid": all(i["paid"] for i in invoices),
    }


def counts_by_state(states: States) -> dict[str, dict[str, int]]:
    """{saga_type: {state: n}}."""
    counts: Counter[tuple[str, str]] = Counter((t, s.state) for (t, _), s in states.items())
    out: dict[str, dict[str, int]] = {}
    for (t, st), n in sorted(counts.items()):
        out.setdefault(t, {})[st] = n
    return out


def funnel(states: Iterable[SagaState]) -> list[dict[str, Any]]:
    """How many quote-to-cash deals ever reached each happy-path state."""
    reached: Counter[str] = Counter()
    deals = 0
    for s in states:
        if s.saga_type != QUOTE_TO_CASH:
            continue
        deals += 1
        seen = {r.to_state for r in s.history} | {s.state}
        for stage in FUNNEL:
            if stage in seen:
                reached[stage] += 1
    return [{"stage": "closed_won", "count": deals}] + [
        {"stage": stage, "count": reached[stage]} for stage in FUNNEL
    ]


def cycle_times(states: Iterable[SagaState]) -> dict[str, list[float]]:
    """Per cycle, the seconds each deal took (event time), from the deals' own timestamps."""
    out: dict[str, list[float]] = {name: [] for name, _, _ in CYCLES}
    out["milestone_to_invoice"] = []
    out["invoice_to_payment"] = []
    for s in states:
        if s.saga_type != QUOTE_TO_CASH:
            continue
        data = s.data
        for name, start, end in CYCLES:
            a, b = data.get(start), data.get(end)
            if isinstance(a, datetime) and isinstance(b, datetime):
                out[name].append(max(0.0, (b - a).total_seconds()))
        completed = data.get("milestones_completed_at", {})
        by_reference = {ref: mid for mid, ref in data.get("invoiced_milestones", {}).items()}
        for inv in data.get("invoices", {}).values():
            issued = inv.get("issued_at")
            done = completed.get(by_reference.get(inv.get("reference")))
            if isinstance(done, datetime) and isinstance(issued, datetime):
                out["milestone_to_invoice"].append(max(0.0, (issued - done).total_seconds()))
            paid = inv.get("paid_at")
            if isinstance(paid, datetime) and isinstance(issued, datetime):
                out["invoice_to_payment"].append(max(0.0, (paid - issued).total_seconds()))
    return {k: sorted(v) for k, v in out.items()}


def overview(states: States) -> dict[str, Any]:
    """What the status page's first screen shows."""
    return {
        "sagas": len(states),
        "by_state": counts_by_state(states),
        "funnel": funnel(states.values()),
        "cycle_times": cycle_times(states.values()),
    }


def dead_letter(dl: DeadLetter, names: TopicNames) -> dict[str, Any]:
    """One dead letter by its error headers (no key, no payload: they may hold PII)."""
    return {
        "topic": names.logical(dl.topic),
        "partition": dl.partition,
        "offset": dl.offset,
        "timestamp_ms": dl.timestamp_ms,
        "error_class": dl.error_class,
        "message": dl.message[:300],
        "stage": dl.stage or "unknown",
        "original_topic": names.logical(dl.original_topic),
        "event_type": dl.event_type,
    }


def dlq_summary(letters: list[DeadLetter], names: TopicNames) -> dict[str, Any]:
    """Counts by topic and by (topic, error class), plus the most recent dead letters."""
    by_error = sorted((names.logical(t), e, n) for t, e, n in group_counts(letters))
    by_topic: Counter[str] = Counter()
    for topic, _error, n in by_error:
        by_topic[topic] += n
    recent = sorted(letters, key=lambda d: d.timestamp_ms, reverse=True)[:RECENT_DEAD_LETTERS]
    return {
        "total": len(letters),
        "by_topic": dict(sorted(by_topic.items())),
        "by_error": [{"topic": t, "error_class": e, "count": n} for t, e, n in by_error],
        "recent": [dead_letter(d, names) for d in recent],
    }
