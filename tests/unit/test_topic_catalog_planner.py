"""The pure planner: create, alter, grow, refuse, cap replication, and nothing to do."""

from __future__ import annotations

from typing import Any

import pytest

from engine.topics import Catalog, ObservedTopic, TopicSpec, load_catalog, plan_topics


def _spec(name: str = "q2c.test.events", **overrides: Any) -> TopicSpec:
    fields: dict[str, Any] = {
        "name": name,
        "partitions": 6,
        "replication_factor": 3,
        "min_insync_replicas": 2,
        "cleanup_policy": "delete",
        "retention_ms": 604800000,
        "key": "deal_id",
        "value_schemas": ["io.q2c.ClosedWon"],
        "owner": "tests",
        "description": "test topic",
    }
    fields.update(overrides)
    return TopicSpec.model_validate(fields)


def _catalog(*specs: TopicSpec) -> Catalog:
    return Catalog(topics=specs or (_spec(),))


def _matching(
    spec: TopicSpec, rf: int = 3, config_overrides: dict[str, str] | None = None
) -> ObservedTopic:
    """What the cluster reports for a topic that `apply` already brought in line."""
    configs = {
        **spec.managed_configs(rf),
        "segment.bytes": "1073741824",
        **(config_overrides or {}),
    }
    return ObservedTopic(spec.partitions, rf, configs, overrides=spec.managed_configs(rf))


def test_missing_topics_are_created_with_prefix_and_configs() -> None:
    compacted = _spec(
        "q2c.test.state",
        cleanup_policy="compact",
        retention_ms=None,
        configs={"segment.ms": "3600000"},
    )
    plan = plan_topics(_catalog(_spec(), compacted), {}, broker_count=3, prefix="env1.")
    assert [c.name for c in plan.creations] == ["env1.q2c.test.events", "env1.q2c.test.state"]
    events, state = plan.creations
    assert (events.partitions, events.replication_factor) == (6, 3)
    assert events.configs == {
        "cleanup.policy": "delete",
        "min.insync.replicas": "2",
        "retention.ms": "604800000",
    }
    # Compacted: no retention.ms managed, extra configs carried.
    assert state.configs == {
        "cleanup.policy": "compact",
        "min.insync.replicas": "2",
        "segment.ms": "3600000",
    }
    assert not plan.alterations and not plan.increases and not plan.refusals
    assert plan.actions == 2 and not plan.is_empty


@pytest.mark.parametrize(
    ("brokers", "rf", "min_isr"), [(1, 1, "1"), (2, 2, "2"), (3, 3, "2"), (5, 3, "2")]
)
def test_replication_is_capped_to_the_broker_count(brokers: int, rf: int, min_isr: str) -> None:
    (creation,) = plan_topics(_catalog(), {}, broker_count=brokers).creations
    assert creation.replication_factor == rf
    assert creation.configs["min.insync.replicas"] == min_isr


def test_nothing_to_do_when_the_cluster_matches() -> None:
    spec = _spec()
    plan = plan_topics(_catalog(spec), {spec.name: _matching(spec)}, broker_count=3)
    assert plan.is_empty and plan.actions == 0
    assert plan.to_dict() == {"create": [], "alter": [], "increase_partitions": [], "refused": []}


def test_one_node_cluster_matches_after_capping() -> None:
    # On a 1-node broker the topic has RF 1 and min ISR 1: that is not drift.
    spec = _spec()
    plan = plan_topics(_catalog(spec), {spec.name: _matching(spec, rf=1)}, broker_count=1)
    assert plan.is_empty


def test_config_drift_is_altered_keeping_unmanaged_overrides() -> None:
    spec = _spec()
    seen = ObservedTopic(
        partitions=6,
        replication_factor=3,
        configs={
            "cleanup.policy": "delete",
            "min.insync.replicas": "2",
            "retention.ms": "1000",
            "max.message.bytes": "2000000",
        },
        overrides={"retention.ms": "1000", "max.message.bytes": "2000000"},
    )
    plan = plan_topics(_catalog(spec), {spec.name: seen}, broker_count=3)
    (alteration,) = plan.alterations
    assert [(d.key, d.current, d.desired) for d in alteration.drifts] == [
        ("retention.ms", "1000", "604800000")
    ]
    # AlterConfigs replaces every override: the hand-set one must be in the request.
    assert alteration.configs == {
        "max.message.bytes": "2000000",
        "cleanup.policy": "delete",
        "min.insync.replicas": "2",
        "retention.ms": "604800000",
    }
    assert not plan.creations and not plan.increases and not plan.refusals


def test_missing_managed_config_counts_as_drift() -> None:
    spec = _spec(
        "q2c.test.state",
        cleanup_policy="compact",
        retention_ms=None,
        configs={"segment.ms": "3600000"},
    )
    seen = ObservedTopic(6, 3, {"cleanup.policy": "compact", "min.insync.replicas": "2"})
    (alteration,) = plan_topics(_catalog(spec), {spec.name: seen}, broker_count=3).alterations
    assert [(d.key, d.current) for d in alteration.drifts] == [("segment.ms", None)]


def test_cleanup_policy_order_is_not_drift() -> None:
    spec = _spec(cleanup_policy="compact,delete")
    seen = _matching(spec, config_overrides={"cleanup.policy": "delete,compact"})
    assert plan_topics(_catalog(spec), {spec.name: seen}, broker_count=3).is_empty


def test_partitions_are_increased() -> None:
    spec = _spec(partitions=12)
    seen = _matching(_spec(partitions=6))
    plan = plan_topics(_catalog(spec), {spec.name: seen}, broker_count=3)
    (increase,) = plan.increases
    assert (increase.name, increase.current, increase.desired) == (spec.name, 6, 12)
    assert not plan.refusals and not plan.alterations


def test_fewer_catalog_partitions_are_refused_never_shrunk() -> None:
    spec = _spec(partitions=3)
    seen = _matching(_spec(partitions=6))
    plan = plan_topics(_catalog(spec), {spec.name: seen}, broker_count=3)
    assert not plan.increases and not plan.creations
    (refusal,) = plan.refusals
    assert refusal.name == spec.name
    assert (
        "3 partitions" in refusal.reason
        and "has 6" in refusal.reason
        and "never shrinks" in refusal.reason
    )
    assert not plan.is_empty and plan.actions == 0


def test_refusal_does_not_hide_config_drift_of_the_same_topic() -> None:
    spec = _spec(partitions=3)
    seen = _matching(_spec(partitions=6), config_overrides={"retention.ms": "5"})
    plan = plan_topics(_catalog(spec), {spec.name: seen}, broker_count=3)
    assert len(plan.refusals) == 1 and len(plan.alterations) == 1


def test_too_few_replicas_are_refused() -> None:
    spec = _spec()
    seen = _matching(spec, rf=1)
    plan = plan_topics(_catalog(spec), {spec.name: seen}, broker_count=3)
    (refusal,) = plan.refusals
    assert "replication factor is 1" in refusal.reason and "wants 3" in refusal.reason


def test_a_broker_down_does_not_lower_min_isr_of_existing_topics() -> None:
    # RF-3 topic, one broker of three down: min ISR stays 2, no refusal.
    spec = _spec()
    assert plan_topics(_catalog(spec), {spec.name: _matching(spec)}, broker_count=2).is_empty


def test_topics_outside_the_catalog_are_ignored() -> None:
    spec = _spec()
    observed = {spec.name: _matching(spec), "someone.elses.topic": ObservedTopic(1, 1)}
    assert plan_topics(_catalog(spec), observed, broker_count=3).is_empty


def test_prefix_isolates_environments() -> None:
    spec = _spec()
    # The unprefixed topic exists, but the prefixed environment still needs its own.
    plan = plan_topics(_catalog(spec), {spec.name: _matching(spec)}, broker_count=3, prefix="t1.")
    assert [c.name for c in plan.creations] == ["t1.q2c.test.events"]


def test_zero_brokers_is_an_error() -> None:
    with pytest.raises(ValueError, match="broker_count"):
        plan_topics(_catalog(), {}, broker_count=0)


def test_real_catalog_on_an_empty_cluster_creates_everything() -> None:
    catalog = load_catalog()
    plan = plan_topics(catalog, {}, broker_count=1, prefix="p.")
    assert len(plan.creations) == len(catalog.topics)
    assert all(
        c.replication_factor == 1 and c.configs["min.insync.replicas"] == "1"
        for c in plan.creations
    )
