"""JSON views of saga states for the read API (pure: no I/O, no clock of their own)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from engine.dlq.filters import group_counts
from engine.dlq.records import DeadLetter
from engine.ops.audit import AuditRecord
from engine.runtime.names import TopicNames
from engine.runtime.overview import Contribution, OverviewTally, tally_of
from engine.runtime.store import StoreKey
from engine.saga.codec import summary_of
from engine.saga.hooks import SagaView, jsonable
from engine.saga.model import SagaState
from engine.sagas import DEAL_SAGA, REGISTRY, cycle_measure, hooks_of
from engine.security.protection import MASK

States = Mapping[StoreKey, SagaState]
RECENT_DEAD_LETTERS = 200


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


def protected_fields(state: SagaState) -> list[str]:
    """The saga's data fields beyond its type's safe fields: amounts, terms, rates, tax and
    account details, names. Masked unless an operator reveals them."""
    safe = hooks_of(state.saga_type).view.safe_fields
    return sorted(k for k in state.data if k not in safe)


def saga_data(state: SagaState, *, reveal: bool = False) -> dict[str, Any]:
    """The saga's data: safe fields in clear, the protected ones masked (`reveal`: in clear)."""
    masked = set() if reveal else set(protected_fields(state))
    return {k: MASK if k in masked else jsonable(v) for k, v in sorted(state.data.items())}


def saga_detail(state: SagaState, now: datetime, *, reveal: bool = False) -> dict[str, Any]:
    """Everything the API shows of one saga: data (protected fields masked unless `reveal`),
    parked events, timers and its full history."""
    return {
        **saga_summary(state, now),
        "data": saga_data(state, reveal=reveal),
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
    """Every saga type's instance for one key (a deal has several)."""
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


def document(name: str) -> tuple[str, Callable[[SagaState], dict[str, Any]]] | None:
    """The saga type declaring the view `name` (e.g. "invoices") and its builder, if any."""
    for saga_type, registered in REGISTRY.items():
        build = registered.hooks.view.documents.get(name)
        if build is not None:
            return saga_type, build
    return None


def counts_by_state(counts: Mapping[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    """{saga_type: {state: n}} from counts by (saga type, state)."""
    out: dict[str, dict[str, int]] = {}
    for (t, st), n in sorted(counts.items()):
        out.setdefault(t, {})[st] = n
    return out


def _views() -> list[tuple[str, SagaView]]:
    return [(saga_type, r.hooks.view) for saga_type, r in REGISTRY.items()]


def funnel(counts: Mapping[tuple[str, str], int], tally: OverviewTally) -> list[dict[str, Any]]:
    """How many sagas ever reached each stage of the funnels their types declare (the first
    stage counts every instance of the type)."""
    out = []
    for saga_type, view in _views():
        for i, stage in enumerate(view.funnel):
            if i == 0:
                count = sum(n for (t, _), n in counts.items() if t == saga_type)
            else:
                count = tally.reached(saga_type, stage)
            out.append({"stage": stage, "count": count})
    return out


def cycle_times(states: Iterable[SagaState]) -> dict[str, list[float]]:
    """Per cycle, the seconds each saga took (event time), from the sagas' own timestamps, for
    the cycles their types declare."""
    out: dict[str, list[float]] = {name: [] for _, view in _views() for name in view.cycle_names}
    for s in states:
        measure = cycle_measure(s.saga_type)
        if measure is None:
            continue
        for name, seconds in measure(s.data).items():
            out[name] += seconds
    return {k: sorted(v) for k, v in out.items()}


def contribution(state: SagaState) -> Contribution:
    """What one saga adds to the overview (as its store keeps it)."""
    measure = cycle_measure(state.saga_type)
    cycles = {} if measure is None else measure(state.data)
    return Contribution(state.saga_type, state.state, summary_of(state).reached, cycles)


def overview_of(counts: Mapping[tuple[str, str], int], tally: OverviewTally) -> dict[str, Any]:
    """What the status page's first screen shows, from the maintained counts and tallies."""
    return {
        "sagas": sum(counts.values()),
        "deal_saga": DEAL_SAGA,
        "by_state": counts_by_state(counts),
        "funnel": funnel(counts, tally),
        "cycle_times": {
            name: tally.cycle_summary(name) for _, view in _views() for name in view.cycle_names
        },
    }


def overview(states: States) -> dict[str, Any]:
    """`overview_of` states read whole (the changelog source)."""
    counts = Counter((t, s.state) for (t, _), s in states.items())
    return overview_of(counts, tally_of(contribution(s) for s in states.values()))


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


def notes_by_key(records: Iterable[AuditRecord], action: str) -> dict[str, list[dict[str, Any]]]:
    """Operators' notes on sagas (audit records of `action`), oldest first, by saga key; each
    note may name a new owner of the saga's exception."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(records, key=lambda r: r.at):
        if r.action != action or r.outcome != "done":
            continue
        out.setdefault(r.target, []).append(
            {
                "by": r.by,
                "at": r.at.isoformat(),
                "text": str(r.details.get("note", "")),
                "owner": r.details.get("owner"),
            }
        )
    return out


def owner_of(notes: list[dict[str, Any]]) -> str | None:
    """The owner the latest note that named one set."""
    for note in reversed(notes):
        if note.get("owner"):
            return str(note["owner"])
    return None
