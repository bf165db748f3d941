"""Pydantic models of the topic catalog, validated when the catalog is loaded."""

from __future__ import annotations

import re
from collections import Counter
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# q2c.<domain>.<kind>[.<qualifier>]: lowercase parts joined by dots, words in a part by hyphens.
TOPIC_NAME_PATTERN = re.compile(r"^q2c(?:\.[a-z][a-z0-9]*(?:-[a-z0-9]+)*){2,3}$")

# Topic configs that have their own catalog field; `configs` must not set them a second time.
MANAGED_FIELD_KEYS = frozenset({"cleanup.policy", "retention.ms", "min.insync.replicas"})


class CleanupPolicy(StrEnum):
    """Kafka `cleanup.policy` values the catalog allows."""

    DELETE = "delete"
    COMPACT = "compact"
    COMPACT_DELETE = "compact,delete"

    @property
    def deletes(self) -> bool:
        """True when old segments are removed by time, so a retention must be declared."""
        return self in (CleanupPolicy.DELETE, CleanupPolicy.COMPACT_DELETE)


class Compatibility(StrEnum):
    """How the Avro schemas written to a topic may change (checked by `q2c schemas check`)."""

    BACKWARD = "backward"  # the new schema reads old records (only q2c reads the topic)
    FULL = "full"  # and readers pinned to an old schema read new records (other teams read it)


class TopicSpec(BaseModel):
    """One catalog entry: a topic's logical name, layout, configs and documentation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    partitions: int = Field(gt=0)
    replication_factor: int = Field(gt=0)
    min_insync_replicas: int = Field(gt=0)
    cleanup_policy: CleanupPolicy
    retention_ms: int | None = Field(ge=-1)
    key: str = Field(min_length=1)
    value_schemas: tuple[str, ...] = Field(min_length=1)
    owner: str = Field(min_length=1)
    description: str = Field(min_length=1)
    copartition_group: str | None = None
    configs: dict[str, str] = Field(default_factory=dict)
    # Full unless the catalog says only q2c reads the topic: safe for a new topic by default.
    compatibility: Compatibility = Compatibility.FULL

    @field_validator("name")
    @classmethod
    def _follows_convention(cls, value: str) -> str:
        if not TOPIC_NAME_PATTERN.match(value):
            raise ValueError(
                f"topic name {value!r} does not follow q2c.<domain>.<kind>[.<qualifier>] "
                "(lowercase, dots between parts, hyphens inside a part)"
            )
        return value

    @field_validator("configs", mode="before")
    @classmethod
    def _configs_as_strings(cls, value: object) -> object:
        # YAML reads `segment.ms: 3600000` as an int; Kafka configs are strings on the wire.
        if isinstance(value, dict):
            return {
                str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items()
            }
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(
                f"{self.name}: min_insync_replicas {self.min_insync_replicas} exceeds "
                f"replication_factor {self.replication_factor}"
            )
        if self.cleanup_policy.deletes and self.retention_ms is None:
            raise ValueError(
                f"{self.name}: cleanup_policy {self.cleanup_policy} needs retention_ms"
            )
        duplicated = MANAGED_FIELD_KEYS & self.configs.keys()
        if duplicated:
            raise ValueError(
                f"{self.name}: set {sorted(duplicated)} with the entry's own fields, not in configs"
            )
        return self

    def managed_configs(self, replication_factor: int) -> dict[str, str]:
        """Topic configs this entry enforces, min ISR capped to `replication_factor`.

        The cap keeps a topic writable with acks=all when it has fewer replicas than the
        catalog asks for (a 1-node development broker gets min ISR 1).
        """
        configs = {
            "cleanup.policy": self.cleanup_policy.value,
            "min.insync.replicas": str(min(self.min_insync_replicas, replication_factor)),
        }
        if self.retention_ms is not None:
            configs["retention.ms"] = str(self.retention_ms)
        configs.update(self.configs)
        return configs


class Catalog(BaseModel):
    """All q2c topics; names are unique and co-partitioned topics agree on partitions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topics: tuple[TopicSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_and_copartitioned(self) -> Self:
        counts = Counter(t.name for t in self.topics)
        duplicates = sorted(name for name, n in counts.items() if n > 1)
        if duplicates:
            raise ValueError(f"duplicate topic names: {duplicates}")
        groups: dict[str, dict[str, int]] = {}
        for topic in self.topics:
            if topic.copartition_group:
                groups.setdefault(topic.copartition_group, {})[topic.name] = topic.partitions
        for group, members in groups.items():
            if len(set(members.values())) > 1:
                raise ValueError(
                    f"co-partition group {group!r} needs equal partition counts, got {members}"
                )
        return self

    def get(self, logical: str) -> TopicSpec:
        """The entry named `logical`; KeyError names the unknown topic."""
        for topic in self.topics:
            if topic.name == logical:
                return topic
        raise KeyError(f"topic {logical!r} is not in the catalog")

    @property
    def names(self) -> list[str]:
        """Logical names in catalog order."""
        return [t.name for t in self.topics]
