"""Request and response bodies of the read API (they make its OpenAPI document)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Source = Literal["local", "changelog"]


class Probe(BaseModel):
    status: str
    worker_id: str
    partitions: list[int] = []
    reason: str | None = None


class Whoami(BaseModel):
    role: str
    actor: str


class SagaSummary(BaseModel):
    saga_type: str
    saga_key: str
    state: str
    version: int
    created_at: str | None
    in_state_since: str | None
    in_state_seconds: float | None


class ParkedEvent(BaseModel):
    event_id: str
    event_type: str
    occurred_at: str


class TimerView(BaseModel):
    timer_id: str
    name: str
    fire_at: str


class HistoryView(BaseModel):
    from_state: str | None
    to_state: str
    event_id: str
    event_type: str
    at: str
    note: str | None


class SagaDetail(SagaSummary):
    data: dict[str, object]
    parked: list[ParkedEvent]
    timers: list[TimerView]
    history: list[HistoryView]


class SagasOfKey(BaseModel):
    saga_key: str
    source: Source
    revealed: bool = Field(description="protected data shown in clear (an audited reveal)")
    sagas: list[SagaDetail]


class SagaPage(BaseModel):
    total: int
    offset: int
    limit: int
    source: Source
    items: list[SagaSummary]


class InvoiceView(BaseModel):
    invoice_id: str
    reference: str | None
    milestone_id: str | None
    total: str | None
    currency: str | None
    paid_amount: str | None
    paid: bool
    issued_at: str | None
    due_date: str | None
    paid_at: str | None
    payment_ids: list[str]
    dunned: bool


class InvoiceStatus(BaseModel):
    deal_id: str
    state: str
    invoices: list[InvoiceView]
    requested_not_issued: list[str]
    all_paid: bool


class Note(BaseModel):
    by: str
    at: str
    text: str
    owner: str | None


class ExceptionView(BaseModel):
    saga_type: str
    saga_key: str
    reason: str | None
    attempt: int
    since: str | None
    age_seconds: float | None
    owner: str | None = None
    notes: list[Note] = []


class ExceptionList(BaseModel):
    source: Source
    items: list[ExceptionView]
    notes_read: bool = Field(True, description="false: the audit topic (notes) was unreadable")


class NoteRequest(BaseModel):
    note: str = Field(min_length=1, max_length=1000)
    owner: str | None = Field(None, min_length=1, max_length=100, description="new owner")


class NoteResult(BaseModel):
    saga_key: str
    noted: bool


class BulkResolveRequest(BaseModel):
    action: Literal["retry", "cancel"]
    keys: list[str] = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)
    dry_run: bool = Field(True, description="preview only (the default): nothing is sent")


class BulkItem(BaseModel):
    saga_key: str
    outcome: str = Field(description="would-request | requested | not-found | conflict | failed")
    detail: str | None = None


class BulkResolveResult(BaseModel):
    action: str
    dry_run: bool
    items: list[BulkItem]


class BulkReplayRequest(BaseModel):
    topic: str | None = Field(None, max_length=200, description="dead-letter topic (logical)")
    error_class: str | None = Field(None, max_length=200)
    dry_run: bool = Field(True, description="preview only (the default): nothing is sent")


class ReplayBulkResult(BaseModel):
    replay_id: str
    status: str = Field(description="dry-run | partial | done | cancelled")
    matched: int
    replayed: int
    records: list[DeadLetterView]
    superseded: list[str] = Field(
        default_factory=list,
        description="matching commands left out: a later command of their key replaced them",
    )


class StuckSaga(BaseModel):
    saga_type: str
    saga_key: str
    state: str
    in_state_since: str
    in_state_seconds: float
    expected_seconds: float


class PartitionLag(BaseModel):
    topic: str
    partition: int
    records: int


class ThroughputView(BaseModel):
    events_total: int
    commands_total: int
    events_per_s: float | None
    commands_per_s: float | None
    window_s: float
    lag: list[PartitionLag]
    lag_total: int


class HistogramView(BaseModel):
    edges_h: list[int]
    counts: list[int]


class AgingView(BaseModel):
    saga_type: str
    in_progress: HistogramView
    exception: HistogramView


class OperationsView(BaseModel):
    source: Source
    stuck: list[StuckSaga]
    aging: AgingView
    throughput: ThroughputView


class MoneyRow(BaseModel):
    currency: str
    legal_entity: str
    deals: int
    invoices: int
    invoiced: str
    paid: str
    outstanding: str
    overdue: str
    overdue_invoices: int
    recognised: str


class DealInvoice(BaseModel):
    invoice_id: str
    total: str | None
    paid: bool
    due_date: str | None
    paid_at: str | None


class FinanceDeal(BaseModel):
    deal_id: str
    state: str
    legal_entity: str
    currency: str
    billing: str = Field(
        description="not invoiced | nothing billed | outstanding | overdue | all paid"
    )
    invoices: int
    invoiced: str
    paid: str
    outstanding: str
    overdue: str
    overdue_invoices: int
    recognised: str
    invoice_list: list[DealInvoice]


class SlaDay(BaseModel):
    day: str
    deals: int
    breached: int
    rate: float


class FinanceView(BaseModel):
    source: Source
    as_of: str
    totals: list[MoneyRow]
    billing: dict[str, int]
    deals: list[FinanceDeal]
    histograms: dict[str, HistogramView]
    sla: list[SlaDay]


class TimelineEntry(BaseModel):
    at: str
    kind: Literal["event", "status", "command", "timer", "parked"]
    system: str
    saga_type: str | None
    type: str
    id: str
    from_state: str | None = None
    to_state: str | None = None
    idempotency_key: str | None = None
    caused_by: str | None = None
    detail: str | None = None


class PlatformId(BaseModel):
    system: str
    kind: str
    id: str


class TimelineView(BaseModel):
    saga_key: str
    source: Source
    states: dict[str, str]
    platform_ids: list[PlatformId]
    commands_read: bool
    entries: list[TimelineEntry]


class PageConfig(BaseModel):
    tokens_configured: bool
    message: str | None


class FunnelStage(BaseModel):
    stage: str
    count: int


class CycleSummary(BaseModel):
    count: int
    median: float | None
    p90: float | None
    max: float | None


class Overview(BaseModel):
    source: Source
    worker_id: str
    sagas: int
    deal_saga: str
    by_state: dict[str, dict[str, int]]
    funnel: list[FunnelStage]
    cycle_times: dict[str, CycleSummary]


class DlqErrorCount(BaseModel):
    topic: str
    error_class: str
    count: int


class DeadLetterView(BaseModel):
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    error_class: str
    message: str
    stage: str
    original_topic: str
    event_type: str | None


class DlqSummary(BaseModel):
    total: int
    by_topic: dict[str, int]
    by_error: list[DlqErrorCount]
    recent: list[DeadLetterView]


class ReplayRequest(BaseModel):
    topic: str = Field(description="dead-letter topic, logical name (e.g. q2c.crm.events.dlq)")
    partition: int = Field(ge=0, le=100_000)
    offset: int = Field(ge=0)


class ReplayResult(BaseModel):
    replayed_to: str
    partition: int
    offset: int


class ResolveRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class RevealRequest(BaseModel):
    why: str = Field(
        min_length=1, max_length=500, pattern=r"\S", description="recorded in the audit trail"
    )


class ResolveResult(BaseModel):
    saga_key: str
    requested: str
    attempt: int | None = None
    offset: int


class Problem(BaseModel):
    detail: str
