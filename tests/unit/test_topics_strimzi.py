"""`q2c topics export --format strimzi`: one KafkaTopic per catalog entry, as apply would set
it, and one KafkaUser per principal with the ACLs `q2c acls plan` grants; every resource valid
against the vendored Strimzi CRDs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from engine.cli.main import app
from engine.security.acls import (
    AclBinding,
    AclContext,
    Operation,
    PatternType,
    Permission,
    ResourceType,
    desired_acls,
)
from engine.security.principals import load_principals
from engine.topics import load_catalog
from engine.topics.strimzi import acl_rules, kafka_topic, kafka_user, resource_name
from tests import crd_schema

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")


def export(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> list[dict]:
    out = tmp_path / "strimzi.yaml"
    result = CliRunner().invoke(
        app, ["topics", "export", "--format", "strimzi", "-o", str(out), *args], env=env
    )
    assert result.exit_code == 0, result.output
    catalog, principals = load_catalog(), load_principals()
    count = len(catalog.topics) + len(principals.principals)
    assert f"wrote {count} strimzi resources" in result.output
    return list(yaml.safe_load_all(out.read_text()))


def test_every_exported_resource_is_valid_against_the_strimzi_crds(tmp_path: Path) -> None:
    resources = export(tmp_path, "--namespace", "kafka")
    assert {r["kind"] for r in resources} == {"KafkaTopic", "KafkaUser"}
    assert [p for r in resources for p in crd_schema.errors(r)] == []


def test_export_writes_every_catalog_topic(tmp_path: Path) -> None:
    exported = export(tmp_path, "--cluster", "prod", env={"Q2C_TOPIC_PREFIX": "eu."})
    catalog = load_catalog()
    resources = [r for r in exported if r["kind"] == "KafkaTopic"]
    # Legal Kubernetes names already: metadata.name is the topic name, no spec.topicName.
    assert [r["metadata"]["name"] for r in resources] == [f"eu.{t.name}" for t in catalog.topics]
    assert all("topicName" not in r["spec"] for r in resources)
    for resource, spec in zip(resources, catalog.topics, strict=True):
        assert resource["apiVersion"] == "kafka.strimzi.io/v1"
        assert resource["kind"] == "KafkaTopic"
        assert resource["metadata"]["labels"]["strimzi.io/cluster"] == "prod"
        assert DNS_SUBDOMAIN.match(resource["metadata"]["name"])
        assert resource["spec"]["partitions"] == spec.partitions
        assert resource["spec"]["replicas"] == spec.replication_factor
        # The same configs `q2c topics apply` enforces on a cluster with full replication.
        assert resource["spec"]["config"] == spec.managed_configs(spec.replication_factor)


def test_compacted_master_data_keeps_its_extra_configs() -> None:
    spec = load_catalog().get("q2c.masterdata.accounts")
    config = kafka_topic(spec, prefix="", cluster="c")["spec"]["config"]
    assert config["cleanup.policy"] == "compact"
    assert "retention.ms" not in config  # pure compaction: retention left to the broker
    assert config["segment.ms"] == "3600000" and config["min.insync.replicas"] == "2"


def test_a_prefix_kubernetes_would_refuse_is_made_legal_but_topic_name_kept() -> None:
    spec = load_catalog().get("q2c.saga.inbox")
    resource = kafka_topic(spec, prefix="Team_A.", cluster="c", namespace="kafka")
    assert resource["metadata"]["name"] == "team-a.q2c.saga.inbox"
    assert resource["metadata"]["namespace"] == "kafka"
    assert resource["spec"]["topicName"] == "Team_A.q2c.saga.inbox"
    assert resource_name("_x_") == "x"


def _bindings(principal: str, rules: list[dict]) -> set[AclBinding]:
    """A KafkaUser's ACL rules read back as the broker's bindings."""
    kinds = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}
    kinds |= {"cluster": ResourceType.CLUSTER, "transactionalId": ResourceType.TRANSACTIONAL_ID}
    patterns = {"literal": PatternType.LITERAL, "prefix": PatternType.PREFIXED}
    return {
        AclBinding(
            principal,
            kinds[rule["resource"]["type"]],
            rule["resource"].get("name", "kafka-cluster"),
            patterns[rule["resource"].get("patternType", "literal")],
            Operation[re.sub(r"(?<!^)([A-Z])", r"_\1", op).upper()],
            Permission[rule["type"].upper()],
            rule.get("host", "*"),
        )
        for rule in rules
        for op in rule["operations"]
    }


def test_each_kafka_user_carries_exactly_the_acls_the_planner_grants(tmp_path: Path) -> None:
    env = {"Q2C_TOPIC_PREFIX": "eu.", "Q2C_GROUP_ID": "eu-engine", "Q2C_CLIENT_ID": "eu"}
    users = [r for r in export(tmp_path, env=env) if r["kind"] == "KafkaUser"]
    principals = load_principals()
    assert [u["metadata"]["name"] for u in users] == principals.names
    desired = desired_acls(load_catalog(), principals, AclContext("eu.", "eu-engine", "eu"))
    for user in users:
        principal = f"User:{user['metadata']['name']}"
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["type"] == "simple"
        granted = _bindings(principal, user["spec"]["authorization"]["acls"])
        assert granted == {a for a in desired if a.principal == principal}
        assert granted  # every principal needs something


def test_worker_user_may_write_transactionally_under_its_group_prefix_only(tmp_path: Path) -> None:
    env = {"Q2C_GROUP_ID": "eu-engine"}
    users = {
        r["metadata"]["name"]: r for r in export(tmp_path, env=env) if r["kind"] == "KafkaUser"
    }
    rules = users["q2c-worker"]["spec"]["authorization"]["acls"]
    (txn,) = [r for r in rules if r["resource"]["type"] == "transactionalId"]
    assert txn["resource"] == {
        "type": "transactionalId",
        "name": "eu-engine.task.",
        "patternType": "prefix",
    }
    assert sorted(txn["operations"]) == ["Describe", "Write"]
    analytics = users["q2c-analytics"]["spec"]["authorization"]["acls"]
    assert {
        op for r in analytics if r["resource"]["type"] == "topic" for op in r["operations"]
    } == {"Read"}


def test_tls_authentication_is_exported_and_valid(tmp_path: Path) -> None:
    users = [r for r in export(tmp_path, "--authentication", "tls") if r["kind"] == "KafkaUser"]
    assert {u["spec"]["authentication"]["type"] for u in users} == {"tls"}
    assert [p for u in users for p in crd_schema.errors(u)] == []


def test_cluster_acls_have_no_resource_name_and_hosts_are_kept() -> None:
    rules = acl_rules(
        [
            AclBinding(
                "User:x",
                ResourceType.CLUSTER,
                "kafka-cluster",
                PatternType.LITERAL,
                Operation.IDEMPOTENT_WRITE,
            ),
            AclBinding(
                "User:x",
                ResourceType.TOPIC,
                "t",
                PatternType.LITERAL,
                Operation.READ,
                host="10.0.0.1",
            ),
        ]
    )
    assert rules == [
        {
            "type": "allow",
            "resource": {"type": "topic", "name": "t", "patternType": "literal"},
            "operations": ["Read"],
            "host": "10.0.0.1",
        },
        {"type": "allow", "resource": {"type": "cluster"}, "operations": ["IdempotentWrite"]},
    ]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("spec", "authentication", "type"), "scram-sha-256", "'scram-sha-256' is not one of"),
        (("spec", "authorization", "acls", 0, "operations", 0), "read", "'read' is not one of"),
        (("spec", "authorization", "acl"), [], "Additional properties are not allowed ('acl'"),
    ],
)
def test_a_wrong_kafka_user_is_refused_by_the_crd_schema(
    path: tuple[str | int, ...], value: object, expected: str
) -> None:
    catalog, principals = load_catalog(), load_principals()
    spec = principals.get("q2c-worker")
    user = kafka_user(spec, desired_acls(catalog, principals, AclContext()), cluster="c")
    assert list(crd_schema.errors(user)) == []
    target: Any = user
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert any(expected in p for p in crd_schema.errors(user)), list(crd_schema.errors(user))


def test_a_wrong_kafka_topic_is_refused_by_the_crd_schema() -> None:
    topic = kafka_topic(load_catalog().get("q2c.saga.inbox"), prefix="", cluster="c")
    topic["spec"]["partitions"] = 0
    topic["spec"]["replica"] = 3
    found = list(crd_schema.errors(topic))
    assert any(".spec.partitions: 0 is less than the minimum of 1" in p for p in found), found
    assert any("('replica' was unexpected)" in p for p in found), found


def test_a_missing_principals_file_is_one_line_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = CliRunner().invoke(
        app, ["topics", "export", "--format", "strimzi", "--principals", str(missing)]
    )
    assert result.exit_code == 2
    assert str(missing) in result.output and "Traceback" not in result.output
