"""`q2c bench --quick` against the test broker: every JSON field present with sane values.

Never asserts speed: only that each figure was measured and is internally consistent.
"""

from __future__ import annotations

import json

import pytest

from engine.bench.results import to_json
from engine.bench.suite import SYSTEMS, run_bench

# A full quick bench (six system runs) takes minutes: run for the note with `-m long`.
pytestmark = [pytest.mark.kafka, pytest.mark.long, pytest.mark.timeout(600)]


def _check_latency(summary: dict[str, float]) -> None:
    assert summary["count"] > 0
    assert 0 <= summary["p50_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    assert summary["offered_eps"] > 0


async def test_quick_bench_reports_every_field(kafka_bootstrap: str) -> None:
    doc = json.loads(json.dumps(to_json(await run_bench(kafka_bootstrap, quick=True))))
    assert doc["quick"] is True
    for mode, systems in SYSTEMS.items():
        section = doc[mode]
        for system in systems:
            figures = section["systems"][system]
            assert "error" not in figures, f"{mode}/{system}: {figures.get('error')}"
            assert figures["throughput_eps"] > 0
            assert figures["cpu_seconds_per_1k_events"] >= 0
            assert figures["peak_rss_mb"] > 0
            _check_latency(figures["latency_fixed"])
            _check_latency(figures["latency_half_saturation"])
            # One offered load for all: half the engine's own saturation, measured first.
            half = section["systems"]["engine"]["throughput_eps"] / 2
            # (the rate each achieved, within a few percent of the one asked)
            assert figures["latency_half_saturation"]["offered_eps"] == pytest.approx(
                half, rel=0.05
            )
            if system != "engine":
                assert section[f"ratio_to_{system}"] > 0
                assert f"p99_fixed_ratio_to_{system}" in section
    assert doc["memory"]["bytes_per_active_saga"] > 0
    assert doc["memory"]["extrapolated"] is True
    assert all(c["met"] is not None for c in doc["targets"]), doc["targets"]
    assert doc["restore"]["records"] > 0 and doc["restore"]["records_per_s"] > 0
