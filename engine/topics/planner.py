"""Pure diff of the catalog against what a cluster has: the Plan that `apply` would carry out.

No I/O here, so every rule (create, alter, grow, refuse, replication capping) is unit-tested
without a broker. `engine.topics.cluster` gathers the observations and applies the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.topics.models import Catalog, TopicSpec
from engine.topics.naming import name as topic_name


@dataclass(frozen=True)
class ObservedTopic:
    """A topic as the cluster describes it.

    `configs` holds effective values (at least every key the catalog manages; a missing key
    counts as drift). `overrides` holds the topic's dynamic per-topic overrides: the
    non-incremental AlterConfigs request replaces all of them, so keys the catalog does not
    manage are carried over to keep hand-set overrides alive.
    """

    partitions: int
    replication_factor: int
    configs: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicCreation:
    """A missing topic to create, with its capped replication factor and configs."""

    name: str
    partitions: int
    replication_factor: int
    configs: Mapping[str, str]


@dataclass(frozen=True)
class ConfigDrift:
    """One managed config whose value on the cluster differs from the catalog."""

    key: str
    current: str | None
    desired: str


@dataclass(frozen=True)
class ConfigAlteration:
    """Drifted configs of one topic; `configs` is the full override set to write."""

    name: str
    drifts: tuple[ConfigDrift, ...]
    configs: Mapping[str, str]


@dataclass(frozen=True)
class PartitionIncrease:
    """A topic to grow from `current` to `desired` partitions."""

    name: str
    current: int
    desired: int


@dataclass(frozen=True)
class Refusal:
    """A difference apply will not fix on its own; `reason` tells the operator what to do."""

    name: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """Everything that differs between the catalog and the cluster."""

    creations: tuple[TopicCreation, ...] = ()
    alterations: tuple[ConfigAlteration, ...] = ()
    increases: tuple[PartitionIncrease, ...] = ()
    refusals: tuple[Refusal, ...] = ()

    @property
    def actions(self) -> int:
        """How many changes apply would make (refusals are not changes)."""
        return len(self.creations) + len(self.alterations) + len(self.increases)

    @property
    def is_empty(self) -> bool:
        """True when the cluster matches the catalog: no drift at all."""
        return self.actions == 0 and not self.refusals

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for `q2c topics plan --json`)."""
        return {
            "create": [
                {
                    "name": c.name,
                    "partitions": c.partitions,
                    "replication_factor": c.replication_factor,
                    "configs": dict(c.configs),
                }
                for c in self.creations
            ],
            "alter": [
                {
                    "name": a.name,
                    "changes": [
                        {"key": d.key, "current": d.current, "desired": d.desired} for d in a.drifts
                    ],
                }
                for a in self.alterations
            ],
            "increase_partitions": [
                {"name": i.name, "current": i.current, "desired": i.desired} for i in self.increases
            ],
            "refused": [{"name": r.name, "reason": r.reason} for r in self.refusals],
        }


def _normalise(key: str, value: str) -> str:
    # Brokers may echo "delete,compact" for "compact,delete": order carries no meaning.
    if key == "cleanup.policy":
        return ",".join(sorted(part.strip() for part in value.split(",")))
    return value.strip()


def _config_drifts(
    desired: Mapping[str, str], actual: Mapping[str, str]
) -> tuple[ConfigDrift, ...]:
    drifts = []
    for key, want in desired.items():
        have = actual.get(key)
        if have is None or _normalise(key, have) != _normalise(key, want):
            drifts.append(ConfigDrift(key=key, current=have, desired=want))
    return tuple(drifts)


def _diff_existing(
    spec: TopicSpec, full_name: str, seen: ObservedTopic, broker_count: int
) -> tuple[ConfigAlteration | None, PartitionIncrease | None, list[Refusal]]:
    refusals: list[Refusal] = []
    increase = None
    if spec.partitions > seen.partitions:
        increase = PartitionIncrease(full_name, seen.partitions, spec.partitions)
    elif spec.partitions < seen.partitions:
        refusals.append(
            Refusal(
                full_name,
                f"catalog asks for {spec.partitions} partitions but the topic has "
                f"{seen.partitions}; q2c never shrinks a topic (it would remap keys). Raise "
                f"the catalog to {seen.partitions}, or migrate to a new topic by hand.",
            )
        )
    wanted_rf = min(spec.replication_factor, broker_count)
    if seen.replication_factor < wanted_rf:
        refusals.append(
            Refusal(
                full_name,
                f"replication factor is {seen.replication_factor}, catalog wants {wanted_rf}; "
                "apply cannot add replicas, reassign partitions "
                "(kafka-reassign-partitions.sh).",
            )
        )
    # Cap min ISR by the replicas the topic really has, not by live brokers: a broker that is
    # down for maintenance must not make apply lower min ISR on production topics.
    desired = spec.managed_configs(seen.replication_factor)
    drifts = _config_drifts(desired, seen.configs)
    alteration = None
    if drifts:
        kept = {k: v for k, v in seen.overrides.items() if k not in desired}
        alteration = ConfigAlteration(full_name, drifts, {**kept, **desired})
    return alteration, increase, refusals


def plan_topics(
    catalog: Catalog,
    observed: Mapping[str, ObservedTopic],
    broker_count: int,
    prefix: str = "",
) -> Plan:
    """Compare `catalog` with `observed` (keyed by prefixed names) on a cluster of `broker_count`.

    Missing topics are created with replication factor min(catalog, broker_count) and min ISR
    capped to it; existing topics get drifted managed configs rewritten and partitions
    raised. Fewer catalog partitions than the cluster's, or fewer replicas than wanted, are
    refused, never shrunk or deleted. Topics outside the catalog are ignored.
    """
    if broker_count < 1:
        raise ValueError(f"broker_count must be at least 1, got {broker_count}")
    creations: list[TopicCreation] = []
    alterations: list[ConfigAlteration] = []
    increases: list[PartitionIncrease] = []
    refusals: list[Refusal] = []
    for spec in catalog.topics:
        full_name = topic_name(prefix, spec.name)
        seen = observed.get(full_name)
        if seen is None:
            rf = min(spec.replication_factor, broker_count)
            creations.append(
                TopicCreation(full_name, spec.partitions, rf, spec.managed_configs(rf))
            )
            continue
        alteration, increase, refused = _diff_existing(spec, full_name, seen, broker_count)
        if alteration:
            alterations.append(alteration)
        if increase:
            increases.append(increase)
        refusals.extend(refused)
    return Plan(tuple(creations), tuple(alterations), tuple(increases), tuple(refusals))
