"""The alert rules, their promtool unit tests, the Prometheus example and the Grafana dashboard
are valid, and refer only to metrics the engine really exports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

import engine.observability.metrics  # noqa: F401  (registers the metrics)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "observability"
METRIC = re.compile(r"\bq2c_[a-z_]+\b")


def promtool() -> str:
    """The promtool binary; scripts/test.sh installs Debian's `prometheus` package for it."""
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool missing: scripts/test.sh should have installed `prometheus`")
        pytest.skip("promtool not installed (apt-get install prometheus; scripts/test.sh does)")
    return found


def run(*args: str, cwd: Path = DEPLOY) -> str:
    proc = subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def exported_names() -> set[str]:
    """Sample names the default registry exposes (with _total, _bucket, _sum, _count)."""
    names = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        for suffix in ("_total", "_bucket", "_sum", "_count", "_created"):
            names.add(family.name + suffix)
    return names


def test_rules_are_valid() -> None:
    assert "SUCCESS" in run("check", "rules", "alerts.yml")


def test_rule_unit_tests_pass() -> None:
    out = run("test", "rules", "alerts_test.yml", cwd=DEPLOY / "tests")
    assert "SUCCESS" in out


def test_prometheus_example_config_is_valid() -> None:
    run("check", "config", "prometheus.yml")


def test_required_alerts_exist_and_have_tests() -> None:
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {
        "Q2CDeadLetterQueueGrowing",
        "Q2CExceptionOlderThanSla",
        "Q2CCycleTimeSlaBreached",
        "Q2CConsumerLagRising",
        "Q2CNoProgress",
    } <= alerts
    tests = yaml.safe_load((DEPLOY / "tests" / "alerts_test.yml").read_text())
    tested = {a["alertname"] for t in tests["tests"] for a in t["alert_rule_test"]}
    assert len(tested & alerts) >= 2


def test_rules_and_dashboard_use_only_exported_metrics() -> None:
    exported = exported_names()
    used_in_rules = set(METRIC.findall((DEPLOY / "alerts.yml").read_text()))
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used_in_dashboard = {m for e in exprs for m in METRIC.findall(e)}
    assert used_in_rules and used_in_dashboard
    assert used_in_rules - exported == set()
    assert used_in_dashboard - exported == set()


def test_dashboard_is_well_formed() -> None:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    titles = {p["title"] for p in dashboard["panels"]}
    assert {"Business SLAs", "Engine health"} <= titles
    for p in dashboard["panels"]:
        if p["type"] != "row":
            assert p["targets"], p["title"]
