"""Prometheus metrics of a worker (prometheus-client, default registry).

Conventions: `q2c_` prefix, base units (`_seconds`), `_total` on counters, and bounded label
sets: topic, event type, saga type, state, kind. Never a saga key or any id.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# Business cycles run from minutes to weeks.
CYCLE_BUCKETS = (
    60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400,
    30 * 86400, 60 * 86400, 90 * 86400,
)  # fmt: skip

RECORDS_CONSUMED = Counter(
    "q2c_records_consumed_total", "Records read from input topics", ["topic"]
)
RECORDS_PROCESSED = Counter(
    "q2c_records_processed_total", "Events applied to sagas", ["topic", "event_type"]
)
RECORDS_FORWARDED = Counter(
    "q2c_records_forwarded_total", "Events repartitioned to the saga inbox", ["topic"]
)
RECORDS_WAITING = Gauge(
    "q2c_records_waiting_correlation", "Records waiting for their saga key to become known"
)
RECORDS_DEAD_LETTERED = Counter(
    "q2c_records_dead_lettered_total", "Records sent to a dead-letter topic", ["topic", "stage"]
)
RECORDS_RETRIED = Counter(
    "q2c_records_retried_total", "Batches rolled back and re-read after a failed commit", ["topic"]
)
PROCESSING_SECONDS = Histogram(
    "q2c_processing_seconds", "Time to handle one record", buckets=LATENCY_BUCKETS
)
END_TO_END_SECONDS = Histogram(
    "q2c_end_to_end_latency_seconds",
    "From the input record's append time to the commit of what it caused",
    buckets=LATENCY_BUCKETS,
)
COMMANDS_EMITTED = Counter(
    "q2c_commands_emitted_total", "Commands written", ["command_type", "target"]
)
CONSUMER_LAG = Gauge(
    "q2c_consumer_lag_records",
    "Records behind the end of an assigned partition",
    ["topic", "partition"],
)
TXN_COMMIT_SECONDS = Histogram(
    "q2c_transaction_commit_seconds",
    "Time to write a batch's outputs and commit",
    buckets=LATENCY_BUCKETS,
)
GC_FULL_SECONDS = Histogram(
    "q2c_gc_full_collection_seconds",
    "Pause of each full garbage collection the worker scheduled",
    buckets=LATENCY_BUCKETS,
)
TXN_ABORTS = Counter("q2c_transaction_aborts_total", "Transactions rolled back", ["reason"])
TASK_RECOVERIES = Counter(
    "q2c_task_recoveries_total",
    "Tasks rebuilt in place with a new producer (fenced without a group change, fatal errors)",
)
REBALANCES = Counter("q2c_rebalances_total", "Partition assignment changes", ["kind"])
STORE_SAGAS = Gauge("q2c_state_store_sagas", "Saga instances held by this worker")
STORES_KEPT = Counter(
    "q2c_state_stores_kept_total",
    "Tasks that kept their store across a rebalance (changelog unchanged, no restore)",
)
RESTORE_SECONDS = Histogram(
    "q2c_state_restore_seconds",
    "Time to restore a task's store from its changelog",
    buckets=LATENCY_BUCKETS,
)
RESTORED_RECORDS = Counter("q2c_state_restored_records_total", "Changelog records restored")
TIMER_FAILURES = Counter(
    "q2c_timer_failures_total",
    "Saga timers whose handling raised (saga left unchanged)",
    ["saga_type"],
)
TIMERS_FIRED = Counter("q2c_timers_fired_total", "Saga timers fired", ["saga_type", "name"])
PENDING_EXPIRED = Counter(
    "q2c_pending_sagas_expired_total",
    "Sagas that never started, deleted after pending_retention_s without an event",
    ["saga_type"],
)
FINISHED_EXPIRED = Counter(
    "q2c_finished_sagas_expired_total",
    "Finished sagas deleted after finished_retention_s without an event",
    ["saga_type"],
)

SAGAS_BY_STATE = Gauge("q2c_sagas", "Saga instances by type and state", ["saga_type", "state"])
CYCLE_SECONDS = Histogram(
    "q2c_cycle_time_seconds",
    "Business cycle times (event time): closed_won_to_activation, activation_to_billing_ready, "
    "milestone_to_invoice, invoice_to_payment",
    ["cycle"],
    buckets=CYCLE_BUCKETS,
)
SLA_BREACHES = Counter("q2c_sla_breaches_total", "Deadlines missed", ["kind"])
EXCEPTIONS_OPEN = Gauge("q2c_exceptions_open", "Sagas in their exception state", ["saga_type"])
EXCEPTION_OLDEST_SECONDS = Gauge(
    "q2c_exception_oldest_age_seconds", "Age of the oldest open exception", ["saga_type"]
)
