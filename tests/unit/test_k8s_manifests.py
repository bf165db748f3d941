"""The Kubernetes manifests render with kustomize and validate offline in strict mode.

Core resources are checked with kubernetes-validate (the API's own OpenAPI schemas);
the Prometheus Operator ServiceMonitor and PrometheusRule, which it has no schema for, are
checked against the Services they must select and the alert rules promtool tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from engine.topics import load_catalog
from engine.version import package_version

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TREES = {"base": DEPLOY / "k8s", "production": DEPLOY / "k8s-overlays" / "production"}
KUBERNETES_VERSION = "1.32.0"
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}


def kustomize() -> list[str]:
    """`kustomize build` (scripts/test.sh installs it into .venv/bin), else kubectl's own."""
    pinned = Path(sys.prefix) / "bin" / "kustomize"
    if pinned.is_file():
        return [str(pinned), "build"]
    found = shutil.which("kustomize")
    if found:
        return [found, "build"]
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI"):
            pytest.fail("kustomize missing: scripts/test.sh installs it with `go install`")
        pytest.skip("neither kustomize nor kubectl installed")
    return [kubectl, "kustomize"]


def render(tree: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [*kustomize(), str(tree)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


@pytest.mark.parametrize("tree", sorted(TREES))
def test_every_core_resource_is_valid_in_strict_mode(tree: str) -> None:
    docs = render(TREES[tree])
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"} <= kinds
    for doc in docs:
        if doc["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert "Secret" not in kinds  # referenced, never inlined


def test_production_runs_at_most_one_worker_per_partition() -> None:
    docs = render(TREES["production"])
    (deployment,) = by_kind(docs, "Deployment")
    partitions = load_catalog().get("q2c.saga.inbox").partitions
    assert 1 < deployment["spec"]["replicas"] <= partitions
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"q2c:{package_version()}"
    secret_env = {e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert {"Q2C_SASL_USERNAME", "Q2C_SASL_PASSWORD", "Q2C_API_OPERATOR_TOKENS"} <= secret_env
    assert all("value" not in e for e in container["env"] if e["name"] in secret_env)
    assert {d["metadata"].get("namespace") for d in docs} == {"q2c"}


def test_workers_run_as_the_images_non_root_user() -> None:
    (deployment,) = by_kind(render(TREES["base"]), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    containerfile = (DEPLOY.parent / "Containerfile").read_text()
    assert f"USER {pod['securityContext']['runAsUser']}:" in containerfile


def test_network_policy_admits_only_the_namespace_and_prometheus() -> None:
    docs = render(TREES["base"])
    (policy,) = by_kind(docs, "NetworkPolicy")
    assert "Ingress" in policy["spec"]["policyTypes"]
    (rule,) = policy["spec"]["ingress"]
    sources = rule["from"]
    assert {"podSelector": {}} in sources  # same namespace only
    assert all("ipBlock" not in s for s in sources)
    assert all("namespaceSelector" not in s or "podSelector" in s for s in sources)


def test_pdb_and_service_monitor_select_the_workers() -> None:
    docs = render(TREES["base"])
    (deployment,) = by_kind(docs, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    (pdb,) = by_kind(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    (monitor,) = by_kind(docs, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    selected = [
        s
        for s in by_kind(docs, "Service")
        if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
    ]
    ports = {p["name"] for s in selected for p in s["spec"]["ports"]}
    assert selected and {e["port"] for e in monitor["spec"]["endpoints"]} <= ports
    assert {e["path"] for e in monitor["spec"]["endpoints"]} == {"/metrics"}


def test_prometheus_rule_carries_the_promtool_tested_alert_rules() -> None:
    (rule,) = by_kind(render(TREES["production"]), "PrometheusRule")
    tested = yaml.safe_load((DEPLOY / "observability" / "alerts.yml").read_text())
    # Stale after an alerts.yml change until `scripts/prometheus_rule.py` is run again.
    assert rule["spec"]["groups"] == tested["groups"]
    assert rule["metadata"]["namespace"] == "q2c"
