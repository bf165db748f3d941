"""Known label values of the worker's counters, exported as 0 before anything happens.

A labelled counter exports no series until its first increment, so
`increase(q2c_records_dead_lettered_total[15m])` has nothing to compare the first dead letter
with and stays empty, and `rate(q2c_records_consumed_total[10m]) == 0` cannot hold for a
worker that never consumed. Creating each known combination at start-up gives the alert
rules a 0 to start from (deploy/observability/alerts.yml).
"""

from __future__ import annotations

from engine.contracts.registry import COMMAND_TARGETS, EVENT_MODELS, event_topic
from engine.observability import metrics
from engine.runtime.names import TopicNames

# Where a worker dead-letters a record (engine/runtime/processor.py `_dead_letter` calls).
DEAD_LETTER_STAGES = ("decode", "process", "route", "limit")  # limit: engine/runtime/limits.py
ABORT_REASONS = ("fenced", "too_large", "error", "recreate")  # engine/runtime/worker.py TXN_ABORTS
REBALANCE_KINDS = ("assigned", "revoked")
SLA_KINDS = ("activation", "payment")  # engine/sagas/quote_to_cash_hooks.py sla_breaches


def worker_input_topics() -> list[str]:
    """Logical names (no prefix, as in metric labels) of every topic a saga worker consumes."""
    names = TopicNames()
    return [*names.inbound, names.inbox]


def export_known_labels() -> None:
    """Create every known label combination of the worker's counters (value 0, or unchanged)."""
    inputs = worker_input_topics()
    for topic in inputs:
        metrics.RECORDS_CONSUMED.labels(topic)
        metrics.RECORDS_FORWARDED.labels(topic)
        metrics.RECORDS_RETRIED.labels(topic)
        for stage in DEAD_LETTER_STAGES:
            metrics.RECORDS_DEAD_LETTERED.labels(topic, stage)
    for event_type in EVENT_MODELS:
        topic = event_topic(event_type)
        if topic in inputs:
            metrics.RECORDS_PROCESSED.labels(topic, event_type)
    for command_type, target in COMMAND_TARGETS.items():
        metrics.COMMANDS_EMITTED.labels(command_type, target)
    for reason in ABORT_REASONS:
        metrics.TXN_ABORTS.labels(reason)
    for kind in REBALANCE_KINDS:
        metrics.REBALANCES.labels(kind)
    for kind in SLA_KINDS:
        metrics.SLA_BREACHES.labels(kind)
