"""The worker's counters export 0 for every known label value before anything happened."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from engine.contracts.registry import COMMAND_TARGETS
from engine.observability import metrics_labels
from engine.observability.metrics_labels import (
    ABORT_REASONS,
    DEAD_LETTER_STAGES,
    REBALANCE_KINDS,
    SLA_KINDS,
    worker_input_topics,
)

ENGINE = Path(metrics_labels.__file__).resolve().parents[1]
SCRAPE = (
    "from prometheus_client import generate_latest\n"
    "from engine.observability.metrics_labels import export_known_labels\n"
    "export_known_labels()\n"
    "print(generate_latest().decode())\n"
)


def fresh_scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """/metrics of a new process right after start-up (the registry is process-wide)."""
    text = subprocess.run(
        [sys.executable, "-c", SCRAPE], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_known_label_values_are_exported_as_zero() -> None:
    samples = fresh_scrape()

    def value(name: str, **labels: str) -> float | None:
        return samples.get((name, frozenset(labels.items())))

    for topic in worker_input_topics():
        assert value("q2c_records_consumed_total", topic=topic) == 0.0
        for stage in DEAD_LETTER_STAGES:
            assert value("q2c_records_dead_lettered_total", topic=topic, stage=stage) == 0.0
    assert (
        value("q2c_records_processed_total", topic="q2c.crm.events", event_type="closed-won") == 0
    )
    for command_type, target in COMMAND_TARGETS.items():
        assert value("q2c_commands_emitted_total", command_type=command_type, target=target) == 0
    for reason in ABORT_REASONS:
        assert value("q2c_transaction_aborts_total", reason=reason) == 0.0
    for kind in SLA_KINDS:
        assert value("q2c_sla_breaches_total", kind=kind) == 0.0


def _literals(path: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, (ENGINE / path).read_text()))


def test_declared_label_values_cover_what_the_engine_uses() -> None:
    """A new stage or reason in the engine must be declared here, or its series starts absent."""
    stages = _literals("runtime/processor.py", r'_dead_letter\(task, rec, \w+, "(\w+)"')
    assert stages and stages <= set(DEAD_LETTER_STAGES)
    reasons = _literals("runtime/worker.py", r'TXN_ABORTS\.labels\("(\w+)"\)')
    assert reasons and reasons <= set(ABORT_REASONS)
    kinds = _literals("runtime/worker.py", r'REBALANCES\.labels\("(\w+)"\)')
    assert kinds and kinds <= set(REBALANCE_KINDS)
    breaches = _literals("sagas/quote_to_cash_hooks.py", r'kinds\.append\("(\w+)"\)')
    assert breaches and breaches <= set(SLA_KINDS)
