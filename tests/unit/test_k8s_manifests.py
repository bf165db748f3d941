"""The Kubernetes manifests render with kustomize and validate offline in strict mode.

Core resources are checked with kubernetes-validate (the API's own OpenAPI schemas), the
Prometheus Operator ServiceMonitor and PrometheusRule against their vendored CRDs
(tests/crd_schema.py). Every container's args are parsed by the real q2c CLI.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import typer
import yaml
from typer.core import TyperGroup

from engine.api.config import ApiSettings
from engine.cli.main import app
from engine.connectors.outbound.service import FACTORIES, PlatformSettings
from engine.connectors.settings import ConnectorSettings
from engine.security.principals import Role, load_principals
from engine.settings import Settings
from engine.topics import load_catalog
from engine.version import package_version
from tests import crd_schema

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TREES = {"base": DEPLOY / "k8s", "production": DEPLOY / "k8s-overlays" / "production"}
KUBERNETES_VERSION = crd_schema.KUBERNETES_VERSION

Doc = dict[str, Any]


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


@cache
def _rendered(tree: str) -> str:
    return subprocess.run(
        [*kustomize(), str(TREES[tree])], capture_output=True, text=True, timeout=60, check=True
    ).stdout


def render(tree: str) -> list[Doc]:
    """The tree's resources (a fresh copy: tests may change them)."""
    return [d for d in yaml.safe_load_all(_rendered(tree)) if d]


def by_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: list[Doc], kind: str, name: str) -> Doc:
    (found,) = [d for d in by_kind(docs, kind) if d["metadata"]["name"] == name]
    return found


def problems(doc: Doc) -> list[str]:
    """Every strict-mode problem of one rendered resource (empty: valid)."""
    if crd_schema.is_custom(doc):
        return list(crd_schema.errors(doc))
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path)
        return [f"{doc['kind']} {doc['metadata']['name']}: {where}: {exc.message}"]
    return []


def containers(docs: list[Doc]) -> list[tuple[str, Doc]]:
    return [
        (d["metadata"]["name"], c)
        for d in by_kind(docs, "Deployment")
        for c in d["spec"]["template"]["spec"]["containers"]
    ]


def parse_cli(args: list[str]) -> dict[str, Any]:
    """Parse `q2c ARGS` with the real CLI down to its leaf command, without running it: the
    leaf's parameters as its callback would get them.

    LookupError for a command that does not exist; the CLI's own usage error (exit code 2)
    for an option or value its parser refuses."""
    command = typer.main.get_command(app)
    name, rest = "q2c", list(args)
    while isinstance(command, TyperGroup):
        if not rest or rest[0] not in command.commands:
            raise LookupError(f"q2c {' '.join(args)}: no command {rest[:1]} under {name!r}")
        name, rest = rest[0], rest[1:]
        command = command.commands[name]
    return dict(command.make_context(name, rest).params)


def known_settings() -> set[str]:
    """Every Q2C_* variable q2c reads: the settings models' fields under their prefixes."""
    names = {
        f"Q2C_{field.upper()}"
        for model in (Settings, ApiSettings, ConnectorSettings)
        for field in model.model_fields
    }
    names |= {
        f"Q2C_{platform.upper()}_{field.upper()}"
        for platform in FACTORIES
        for field in PlatformSettings.model_fields
    }
    return names


@pytest.mark.parametrize("tree", sorted(TREES))
def test_every_resource_is_valid_in_strict_mode(tree: str) -> None:
    docs = render(tree)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"} <= kinds
    assert {"ServiceMonitor", "PrometheusRule"} <= kinds
    assert [p for d in docs for p in problems(d)] == []
    assert "Secret" not in kinds  # referenced, never inlined


BREAKAGES: dict[str, tuple[str, str, Callable[[Doc], None], str]] = {
    # (kind, name, change, what the one line names)
    "service monitor field typo": (
        "ServiceMonitor",
        "q2c",
        lambda d: d["spec"]["endpoints"][0].update(intervall="30s"),
        ".spec.endpoints[0]: Additional properties are not allowed ('intervall'",
    ),
    "alert rule without expr": (
        "PrometheusRule",
        "q2c",
        lambda d: d["spec"]["groups"][0]["rules"][0].pop("expr"),
        ".spec.groups[0].rules[0]: 'expr' is a required property",
    ),
    "custom resource metadata typo": (
        "ServiceMonitor",
        "q2c",
        lambda d: d["metadata"].update(label={"a": "b"}),
        ".metadata: Additional properties are not allowed ('label'",
    ),
    "deployment field typo": (
        "Deployment",
        "q2c-gateway",
        lambda d: d["spec"]["template"]["spec"]["containers"][0].update(arg=["gateway"]),
        "Additional properties are not allowed ('arg'",
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_a_broken_resource_is_refused_with_the_path_named(case: str) -> None:
    kind, name, change, expected = BREAKAGES[case]
    doc = named(render("production"), kind, name)
    assert problems(doc) == []
    broken = copy.deepcopy(doc)
    change(broken)
    found = problems(broken)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize("tree", sorted(TREES))
def test_every_container_runs_a_real_q2c_command(tree: str) -> None:
    found = containers(render(tree))
    assert len(found) >= 6
    for deployment, container in found:
        # The image's entrypoint is q2c (Containerfile); a manifest only gives its arguments.
        assert "command" not in container, deployment
        assert container["image"].split(":")[0] == "q2c", deployment
        parse_cli(container["args"])  # raises for a command or option q2c does not have


@pytest.mark.parametrize(
    "args",
    [
        ["translator"],  # not a command
        ["connectors", "run", "--crm-platform", "salesforce"],  # not an option
        ["run", "--worker", "w-1"],
        ["gateway", "--port", "eighty"],  # not a number
    ],
)
def test_the_args_check_refuses_a_command_that_does_not_exist(args: list[str]) -> None:
    with pytest.raises((LookupError, typer.TyperException)) as refused:
        parse_cli(args)
    assert getattr(refused.value, "exit_code", 2) == 2


@pytest.mark.parametrize("tree", sorted(TREES))
def test_every_q2c_variable_in_the_manifests_is_a_setting(tree: str) -> None:
    docs = render(tree)
    (config,) = by_kind(docs, "ConfigMap")
    names = set(config["data"])
    names |= {e["name"] for _, c in containers(docs) for e in c.get("env", [])}
    assert {n for n in names if n.startswith("Q2C_")} - known_settings() == set()
    assert "Q2C_BOOTSTRAP_SERVERS" in config["data"]


def test_one_connector_deployment_per_target_each_with_its_platform() -> None:
    docs = render("base")
    targets = {}
    for name, container in containers(docs):
        if name.startswith("q2c-connector-"):
            params = parse_cli(container["args"])
            chosen = {t: p for t, p in params.items() if t != "log_level" and p}
            assert len(chosen) == 1, (name, chosen)
            ((target, platform),) = chosen.items()
            assert name == f"q2c-connector-{target}" and platform in FACTORIES
            refs = {r["secretRef"]["name"] for r in container["envFrom"] if "secretRef" in r}
            assert refs == {f"q2c-platform-{platform}"}
            targets[target] = platform
    assert set(targets) == {"crm", "erp", "billing"}


def test_production_runs_at_most_one_worker_per_partition() -> None:
    docs = render("production")
    worker = named(docs, "Deployment", "q2c-worker")
    partitions = load_catalog().get("q2c.saga.inbox").partitions
    assert 1 < worker["spec"]["replicas"] <= partitions
    assert {c["image"] for _, c in containers(docs)} == {f"q2c:{package_version()}"}
    assert {d["metadata"].get("namespace") for d in docs} == {"q2c"}


def test_production_connects_each_deployment_as_its_own_kafka_user() -> None:
    docs = render("production")
    (config,) = by_kind(docs, "ConfigMap")
    assert config["data"]["Q2C_SECURITY_PROTOCOL"] == "SASL_SSL"
    password_file = Path(config["data"]["Q2C_SASL_PASSWORD_FILE"])
    principals = load_principals()
    users = {}
    for deployment in by_kind(docs, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e for e in container["env"]}
        user = env["Q2C_SASL_USERNAME"]["value"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volume = {v["name"]: v for v in pod["volumes"]}[mounts[str(password_file.parent)]]
        # The password comes from the user's own Secret (Strimzi names it after the user).
        assert volume["secret"]["secretName"] == user
        users[deployment["metadata"]["name"]] = user
    assert len(set(users.values())) == len(users)  # nobody shares credentials
    assert principals.get(users["q2c-worker"]).role is Role.WORKER
    for target in ("crm", "erp", "billing"):
        spec = principals.get(users[f"q2c-connector-{target}"])
        assert spec.role is Role.ADAPTER and spec.platform == target
    # Secret values are never in the manifests: a reference, or a file from a mounted Secret.
    for deployment in by_kind(docs, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        secret_volumes = {v["name"] for v in pod.get("volumes", []) if "secret" in v}
        (container,) = pod["containers"]
        secret_dirs = {
            m["mountPath"] for m in container["volumeMounts"] if m["name"] in secret_volumes
        }
        for e in container.get("env", []):
            if not any(w in e["name"] for w in ("TOKEN", "PASSWORD", "SECRET", "KEY")):
                continue
            if e["name"].endswith("_FILE"):
                assert str(Path(e["value"]).parent) in secret_dirs, e
            else:
                assert "secretKeyRef" in e["valueFrom"], e
    worker = named(docs, "Deployment", "q2c-worker")["spec"]["template"]["spec"]
    assert {"secret": {"secretName": "q2c-api-tokens"}, "name": "api-tokens"} in worker["volumes"]


def test_production_mounts_the_field_keyset_secret_in_every_deployment() -> None:
    docs = render("production")
    (config,) = by_kind(docs, "ConfigMap")
    keyset = Path(config["data"]["Q2C_FIELD_KEYSET_FILE"])
    for deployment in by_kind(docs, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volume = {v["name"]: v for v in pod["volumes"]}[mounts[str(keyset.parent)]]
        assert volume["secret"]["secretName"] == "q2c-field-keyset", deployment["metadata"]
        assert volume["secret"]["items"] == [{"key": keyset.name, "path": keyset.name}]


def test_every_deployment_runs_as_the_images_non_root_user() -> None:
    containerfile = (DEPLOY.parent / "Containerfile").read_text()
    for deployment in by_kind(render("base"), "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert f"USER {pod['securityContext']['runAsUser']}:" in containerfile


def _admits_from_outside(rule: Doc) -> bool:
    """Whether an ingress rule lets in anything but this namespace's pods and Prometheus."""
    sources = rule.get("from")
    if not sources:
        return True  # no `from`: every source
    for s in sources:
        if "ipBlock" in s:
            return True
        if "namespaceSelector" in s and s.get("podSelector", {}).get("matchLabels") != {
            "app.kubernetes.io/name": "prometheus"
        }:
            return True
    return False


def test_only_the_gateway_takes_traffic_from_outside_the_namespace() -> None:
    docs = render("base")
    policies = by_kind(docs, "NetworkPolicy")
    deny = named(docs, "NetworkPolicy", "q2c-default-deny-ingress")
    assert deny["spec"]["podSelector"] == {} and "ingress" not in deny["spec"]
    open_to = {
        p["metadata"]["name"]
        for p in policies
        for rule in p["spec"].get("ingress", [])
        if _admits_from_outside(rule)
    }
    assert open_to == {"q2c-gateway"}
    gateway = named(docs, "NetworkPolicy", "q2c-gateway")
    assert gateway["spec"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "q2c-gateway"
    }
    for name in ("q2c-translator", "q2c-connectors"):
        policy = named(docs, "NetworkPolicy", name)
        assert "Ingress" in policy["spec"]["policyTypes"] and "ingress" not in policy["spec"]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def test_pdbs_and_service_monitor_select_the_pods_once() -> None:
    docs = render("base")
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in by_kind(docs, "Deployment")
    }
    for pdb in by_kind(docs, "PodDisruptionBudget"):
        matched = [
            n
            for n, labels in pods.items()
            if _selects(pdb["spec"]["selector"]["matchLabels"], labels)
        ]
        assert len(matched) == 1, pdb["metadata"]["name"]
    assert {p["metadata"]["name"] for p in by_kind(docs, "PodDisruptionBudget")} >= {
        "q2c-worker",
        "q2c-gateway",
    }
    (monitor,) = by_kind(docs, "ServiceMonitor")
    scraped = [
        s
        for s in by_kind(docs, "Service")
        if _selects(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
    ]
    port_names = {e["port"] for e in monitor["spec"]["endpoints"]}
    per_deployment = {
        name: [s for s in scraped if _selects(s["spec"]["selector"], labels)]
        for name, labels in pods.items()
    }
    # Workers and gateway serve /metrics: each scraped through exactly one Service.
    assert len(per_deployment["q2c-worker"]) == 1 and len(per_deployment["q2c-gateway"]) == 1
    assert all(port_names <= {p["name"] for p in s["spec"]["ports"]} for s in scraped)
    assert {e["path"] for e in monitor["spec"]["endpoints"]} == {"/metrics"}


def test_prometheus_rule_carries_the_promtool_tested_alert_rules() -> None:
    (rule,) = by_kind(render("production"), "PrometheusRule")
    tested = yaml.safe_load((DEPLOY / "observability" / "alerts.yml").read_text())
    # Stale after an alerts.yml change until `scripts/prometheus_rule.py` is run again.
    assert rule["spec"]["groups"] == tested["groups"]
    assert rule["metadata"]["namespace"] == "q2c"
