"""`q2c topics export --format strimzi`: one KafkaTopic per catalog entry, as apply would set it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from engine.cli.main import app
from engine.topics import load_catalog
from engine.topics.strimzi import kafka_topic, resource_name

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")


def test_export_writes_every_catalog_topic(tmp_path: Path) -> None:
    out = tmp_path / "topics.yaml"
    result = CliRunner().invoke(
        app,
        ["topics", "export", "--format", "strimzi", "--cluster", "prod", "-o", str(out)],
        env={"Q2C_TOPIC_PREFIX": "eu."},
    )
    assert result.exit_code == 0, result.output
    catalog = load_catalog()
    resources = list(yaml.safe_load_all(out.read_text()))
    assert f"wrote {len(catalog.topics)} strimzi resources" in result.output
    # Legal Kubernetes names already: metadata.name is the topic name, no spec.topicName.
    assert [r["metadata"]["name"] for r in resources] == [f"eu.{t.name}" for t in catalog.topics]
    assert all("topicName" not in r["spec"] for r in resources)
    for resource, spec in zip(resources, catalog.topics, strict=True):
        assert resource["apiVersion"] == "kafka.strimzi.io/v1beta2"
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
