"""Generated quote-to-cash traffic, encoded once into Kafka records for every system under test.

Deals come from `engine.workload.histories` (closed-won, project replies, milestones,
invoices, payments). The account-validated reply that the engine's account validator would
send is generated here too, so every system sees exactly the same input and no system needs
the validator: the bench measures saga processing, not master-data look-ups.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.codec import encode, headers_for
from engine.contracts import AccountValidated, Envelope, Event
from engine.contracts.registry import record_key, topic_for
from engine.workload.histories import (
    CURRENCY,
    HISTORY_NAMESPACE,
    LEGAL_ENTITY,
    HistoryOptions,
    account_id_for,
    deal_history,
)

EVENT_ID_HEADER = "q2c-event-id"


@dataclass(frozen=True, slots=True)
class BenchRecord:
    """One encoded input event; `topic` is logical (the run's prefix is prepended on send)."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    event_id: str


def account_validated(deal_id: str, base: datetime) -> AccountValidated:
    """The validator's reply for a deal whose master data is valid (deterministic id)."""
    return AccountValidated(
        envelope=Envelope(
            event_id=str(uuid.uuid5(HISTORY_NAMESPACE, f"{deal_id}/account-validated")),
            event_type="account-validated",
            occurred_at=base,
            source_system="q2c-mdm",
            correlation_id=deal_id,
            schema_version=1,
        ),
        deal_id=deal_id,
        account_id=account_id_for(deal_id),
        legal_entity=LEGAL_ENTITY,
        currency=CURRENCY,
        tax_registration=f"US-TAX-{deal_id}",
    )


def deal_events(deal_id: str, options: HistoryOptions) -> list[Event]:
    """A deal's whole lifecycle with the account-validated reply right after closed-won."""
    history = deal_history(deal_id, options)
    return [history[0], account_validated(deal_id, options.base_time), *history[1:]]


def encode_event(model: Event) -> BenchRecord:
    """Avro value, record key and headers exactly as `Publisher` would write them."""
    return BenchRecord(
        topic=topic_for(model),
        key=record_key(model).encode(),
        value=encode(model),
        headers=tuple(headers_for(model)),
        event_id=model.envelope.event_id,
    )


def deal_ids(run: str, phase: str, count: int) -> list[str]:
    """Fresh deal ids per run and phase, so no phase replays another phase's sagas."""
    return [f"B{run}-{phase}-{i:06d}" for i in range(count)]


def build_records(ids: list[str], options: HistoryOptions | None = None) -> list[BenchRecord]:
    """Every event of every deal, deals interleaved in rounds (the way live traffic mixes).

    Round r holds the r-th event of each deal, so a deal's events keep their order while many
    sagas are active at once.
    """
    opts = options or HistoryOptions(base_time=datetime.now(UTC))
    per_deal = [[encode_event(e) for e in deal_events(d, opts)] for d in ids]
    rounds = max((len(events) for events in per_deal), default=0)
    return [events[r] for r in range(rounds) for events in per_deal if r < len(events)]


def events_per_deal(options: HistoryOptions | None = None) -> int:
    """How many input events one deal contributes (for sizing runs)."""
    return len(deal_events("SIZE", options or HistoryOptions()))
