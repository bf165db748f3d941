"""`apply` against a real broker: idempotent, fixes drift, grows partitions, never shrinks."""

from __future__ import annotations

import json

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from typer.testing import CliRunner

from engine.cli.errors import ExitCode
from engine.cli.topics import app as topics_app
from engine.settings import Settings
from engine.topics import (
    Catalog,
    TopicsRefusedError,
    current_plan,
    ensure_topics,
    load_catalog,
    name,
)

pytestmark = pytest.mark.kafka


def _settings(bootstrap: str, unique: str) -> Settings:
    return Settings(bootstrap_servers=bootstrap, topic_prefix=f"t{unique}.")


def _subset(*names: str) -> Catalog:
    """A few real entries: enough for one behaviour without creating all 33 topics again."""
    full = load_catalog()
    return Catalog(topics=tuple(full.get(n) for n in names))


async def _topic_configs(admin: AIOKafkaAdminClient, topic: str) -> dict[str, str]:
    (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    (resource,) = response.to_object()["resources"]
    return {e["config_names"]: e["config_value"] for e in resource["config_entries"]}


async def _partitions(admin: AIOKafkaAdminClient, topic: str) -> int:
    (described,) = await admin.describe_topics([topic])
    return len(described["partitions"])


async def test_apply_twice_is_a_no_op_the_second_time(
    kafka_bootstrap: str, unique: str, admin: AIOKafkaAdminClient
) -> None:
    settings = _settings(kafka_bootstrap, unique)
    catalog = load_catalog()
    first = await ensure_topics(settings)
    assert len(first.creations) == len(catalog.topics)
    # Nothing happened yet on the second run, and a fresh plan agrees.
    second = await ensure_topics(settings)
    assert second.is_empty, second.to_dict()
    assert (await current_plan(settings)).is_empty

    inbox = name(settings.topic_prefix, "q2c.saga.inbox")
    assert await _partitions(admin, inbox) == 6
    state = await _topic_configs(admin, name(settings.topic_prefix, "q2c.saga.state"))
    assert state["cleanup.policy"] == "compact"
    assert state["min.insync.replicas"] == "1"  # capped on the 1-node test broker
    dlq = await _topic_configs(admin, name(settings.topic_prefix, "q2c.crm.events.dlq"))
    assert dlq["retention.ms"] == str(30 * 24 * 3600 * 1000)


async def test_config_drift_is_detected_and_fixed(
    kafka_bootstrap: str, unique: str, admin: AIOKafkaAdminClient
) -> None:
    settings = _settings(kafka_bootstrap, unique)
    catalog = _subset("q2c.crm.events", "q2c.saga.state")
    await ensure_topics(settings, catalog=catalog)
    topic = name(settings.topic_prefix, "q2c.crm.events")
    # An operator changes retention by hand and adds an override the catalog does not manage.
    # (AlterConfigs replaces all overrides, so the managed ones are resent unchanged.)
    managed = catalog.get("q2c.crm.events").managed_configs(1)
    hand_set = {**managed, "retention.ms": "60000", "max.message.bytes": "2000000"}
    await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, hand_set)])

    drift = await current_plan(settings, catalog)
    assert [a.name for a in drift.alterations] == [topic]
    (change,) = drift.alterations[0].drifts
    assert (change.key, change.current, change.desired) == ("retention.ms", "60000", "604800000")

    await ensure_topics(settings, catalog=catalog)
    configs = await _topic_configs(admin, topic)
    assert configs["retention.ms"] == "604800000"
    assert configs["max.message.bytes"] == "2000000"  # unmanaged override survives
    assert (await current_plan(settings, catalog)).is_empty


async def test_more_partitions_on_the_cluster_are_refused_not_shrunk(
    kafka_bootstrap: str, unique: str, admin: AIOKafkaAdminClient
) -> None:
    settings = _settings(kafka_bootstrap, unique)
    catalog = _subset("q2c.ops.replay-progress", "q2c.ops.audit")
    topic = name(settings.topic_prefix, "q2c.ops.replay-progress")  # catalog: 1 partition
    await admin.create_topics([NewTopic(topic, 4, 1)])

    with pytest.raises(TopicsRefusedError, match="never shrinks") as refused:
        await ensure_topics(settings, catalog=catalog)
    plan = refused.value.plan
    assert [r.name for r in plan.refusals] == [topic]
    # The rest was applied: the other topic exists, the refused one got its configs, not a shrink.
    assert [c.name for c in plan.creations] == [name(settings.topic_prefix, "q2c.ops.audit")]
    assert await _partitions(admin, topic) == 4
    assert (await _topic_configs(admin, topic))["cleanup.policy"] == "compact"
    again = await current_plan(settings, catalog)
    assert again.actions == 0 and len(again.refusals) == 1


async def test_partitions_are_increased(
    kafka_bootstrap: str, unique: str, admin: AIOKafkaAdminClient
) -> None:
    settings = _settings(kafka_bootstrap, unique)
    catalog = _subset("q2c.saga.status")
    topic = name(settings.topic_prefix, "q2c.saga.status")
    await admin.create_topics([NewTopic(topic, 2, 1)])
    plan = await ensure_topics(settings, catalog=catalog)
    assert [(i.current, i.desired) for i in plan.increases] == [(2, 6)]
    assert await _partitions(admin, topic) == 6
    assert (await current_plan(settings, catalog)).is_empty


def test_cli_plan_apply_and_refusal_exit_codes(
    kafka_bootstrap: str,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    monkeypatch.setenv("Q2C_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("Q2C_TOPIC_PREFIX", f"c{unique}.")
    catalog_file = tmp_path_factory.mktemp("cat") / "catalog.yaml"
    source = load_catalog()
    small = Catalog(topics=(source.get("q2c.commands.crm"),))
    catalog_file.write_text(json.dumps(small.model_dump(mode="json")))  # JSON is YAML
    runner = CliRunner()

    planned = runner.invoke(topics_app, ["plan", "--json", "--catalog", str(catalog_file)])
    assert planned.exit_code == ExitCode.DRIFT, planned.output  # CI can fail on drift
    assert [c["name"] for c in json.loads(planned.output)["create"]] == [
        f"c{unique}.q2c.commands.crm"
    ]

    applied = runner.invoke(topics_app, ["apply", "--json", "--catalog", str(catalog_file)])
    assert applied.exit_code == 0, applied.output
    assert [c["name"] for c in json.loads(applied.output)["create"]] == [
        f"c{unique}.q2c.commands.crm"
    ]

    clean = runner.invoke(topics_app, ["plan", "--catalog", str(catalog_file)])
    assert clean.exit_code == 0 and "no drift" in clean.output

    # Lower the catalog's partitions below the cluster's: plan and apply refuse, exit 1.
    shrunk = small.model_dump(mode="json")
    shrunk["topics"][0]["partitions"] = 3
    catalog_file.write_text(json.dumps(shrunk))
    refused = runner.invoke(topics_app, ["apply", "--catalog", str(catalog_file)])
    assert refused.exit_code == 1
    assert "never shrinks" in refused.output
