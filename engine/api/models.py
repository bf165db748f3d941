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


class ExceptionView(BaseModel):
    saga_type: str
    saga_key: str
    reason: str | None
    attempt: int
    since: str | None
    age_seconds: float | None


class ExceptionList(BaseModel):
    source: Source
    items: list[ExceptionView]


class FunnelStage(BaseModel):
    stage: str
    count: int


class Overview(BaseModel):
    source: Source
    worker_id: str
    sagas: int
    deal_saga: str
    by_state: dict[str, dict[str, int]]
    funnel: list[FunnelStage]
    cycle_times: dict[str, list[float]]


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


class ResolveResult(BaseModel):
    saga_key: str
    requested: str
    attempt: int | None = None
    offset: int


class Problem(BaseModel):
    detail: str
