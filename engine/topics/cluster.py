"""Cluster I/O for the catalog: observe topics with the admin client and apply a Plan.

Kept apart from the pure planner so the rules are testable without a broker. Every step is
idempotent: a topic created concurrently by another `apply` is accepted, and re-running apply
after success finds nothing to do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

from engine.kafka.connection import KafkaConnection
from engine.settings import Settings
from engine.topics.loader import load_catalog
from engine.topics.models import Catalog
from engine.topics.naming import name as topic_name
from engine.topics.planner import ObservedTopic, Plan, plan_topics

# DescribeConfigs v1+ `config_source` value of a per-topic override (Kafka's ConfigSource enum).
_DYNAMIC_TOPIC_CONFIG = 1
# New topics reach every broker's metadata cache shortly after CreateTopics returns; wait for
# that so callers (and an immediate re-plan) see them.
_VISIBLE_TIMEOUT_S = 15.0


class TopicAdminError(RuntimeError):
    """The broker rejected a describe/create/alter request; the message names the topic."""


class TopicsRefusedError(RuntimeError):
    """`ensure_topics` applied what it could but the plan holds refusals (see `.plan`)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        super().__init__(
            "topic catalog refused:\n  "
            + "\n  ".join(f"{r.name}: {r.reason}" for r in plan.refusals)
        )


@asynccontextmanager
async def admin_client(settings: Settings) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client on the configured cluster, closed on exit."""
    client = AIOKafkaAdminClient(
        client_id=f"{settings.client_id}-topics",
        **KafkaConnection.from_settings(settings).options(),
    )
    await client.start()
    try:
        yield client
    finally:
        await client.close()


def _raise_for(code: int, message: str | None, what: str) -> None:
    if code:
        error = for_code(code)
        raise TopicAdminError(f"{what}: {error.__name__} {message or ''}".rstrip())


def _parse_configs(entries: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    effective: dict[str, str] = {}
    overrides: dict[str, str] = {}
    for entry in entries:
        key, value = entry["config_names"], entry["config_value"]
        if value is None:
            continue
        effective[key] = value
        if "config_source" in entry:
            dynamic = entry["config_source"] == _DYNAMIC_TOPIC_CONFIG
        else:  # DescribeConfigs v0 only says whether the value is a default
            dynamic = not entry["is_default"]
        if dynamic and not entry.get("is_sensitive"):
            overrides[key] = value
    return effective, overrides


async def observe(
    admin: AIOKafkaAdminClient, names: Collection[str]
) -> tuple[dict[str, ObservedTopic], int]:
    """Describe those of `names` that exist, and count the live brokers."""
    broker_count = len((await admin.describe_cluster())["brokers"])
    # Only existing topics are described: a metadata request for a missing topic may
    # auto-create it on clusters where auto.create.topics.enable is on.
    existing = sorted(set(await admin.list_topics()) & set(names))
    if not existing:
        return {}, broker_count
    layout: dict[str, tuple[int, int]] = {}
    for topic in await admin.describe_topics(existing):
        _raise_for(topic["error_code"], None, f"describe topic {topic['topic']}")
        partitions = topic["partitions"]
        # The smallest replica set is what durability can count on.
        replication = min(len(p["replicas"]) for p in partitions)
        layout[topic["topic"]] = (len(partitions), replication)
    resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in existing]
    observed: dict[str, ObservedTopic] = {}
    for response in await admin.describe_configs(resources):
        for resource in response.to_object()["resources"]:
            topic_id = resource["resource_name"]
            _raise_for(
                resource["error_code"], resource["error_message"], f"describe configs {topic_id}"
            )
            effective, overrides = _parse_configs(resource["config_entries"])
            partitions, replication = layout[topic_id]
            observed[topic_id] = ObservedTopic(partitions, replication, effective, overrides)
    return observed, broker_count


async def plan_cluster(admin: AIOKafkaAdminClient, catalog: Catalog, prefix: str) -> Plan:
    """Observe the catalog's topics (with `prefix`) and compute the plan; changes nothing."""
    names = [topic_name(prefix, t.name) for t in catalog.topics]
    observed, broker_count = await observe(admin, names)
    return plan_topics(catalog, observed, broker_count, prefix)


async def _wait_visible(admin: AIOKafkaAdminClient, names: set[str]) -> None:
    """Until every new topic is listed and each of its partitions has a leader.

    Producing right after creation otherwise meets NotLeaderForPartition retries.
    """
    deadline = time.monotonic() + _VISIBLE_TIMEOUT_S
    while True:
        pending = names - set(await admin.list_topics())
        if not pending:
            described = await admin.describe_topics(sorted(names))
            pending = {
                t["topic"]
                for t in described
                if t["error_code"] != 0
                or any(p["error_code"] != 0 or p["leader"] < 0 for p in t["partitions"])
            }
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TopicAdminError(
                f"created topics not ready after {_VISIBLE_TIMEOUT_S}s: {sorted(pending)}"
            )
        await asyncio.sleep(0.2)


async def apply_plan(admin: AIOKafkaAdminClient, plan: Plan) -> None:
    """Create, alter and grow as `plan` says; refusals are left alone (never delete/shrink)."""
    if plan.creations:
        new_topics = [
            NewTopic(c.name, c.partitions, c.replication_factor, topic_configs=dict(c.configs))
            for c in plan.creations
        ]
        response = (await admin.create_topics(new_topics)).to_object()
        for result in response["topic_errors"]:
            if result["error_code"] == TopicAlreadyExistsError.errno:
                continue  # another apply won the race; the next plan compares its configs
            _raise_for(
                result["error_code"], result.get("error_message"), f"create {result['topic']}"
            )
        await _wait_visible(admin, {c.name for c in plan.creations})
    if plan.alterations:
        # AlterConfigs (non-incremental) replaces a topic's overrides with exactly this set;
        # the planner put the unmanaged overrides back in, so only drift changes.
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, a.name, dict(a.configs))
            for a in plan.alterations
        ]
        for response in await admin.alter_configs(resources):
            for resource in response.to_object()["resources"]:
                _raise_for(
                    resource["error_code"],
                    resource["error_message"],
                    f"alter configs {resource['resource_name']}",
                )
    if plan.increases:
        await admin.create_partitions({i.name: NewPartitions(i.desired) for i in plan.increases})


async def current_plan(settings: Settings, catalog: Catalog | None = None) -> Plan:
    """What `apply` would do on the configured cluster, without changing anything."""
    catalog = catalog or load_catalog()
    async with admin_client(settings) as admin:
        return await plan_cluster(admin, catalog, settings.topic_prefix)


async def ensure_topics(
    settings: Settings, *, catalog: Catalog | None = None, strict: bool = True
) -> Plan:
    """Bring the cluster in line with the catalog and return the plan that was applied.

    Creates missing topics, fixes drifted configs and adds partitions. Refusals (shrinks,
    too few replicas) are never acted on; with `strict` (the default) they raise
    TopicsRefusedError after the rest was applied, so a runtime does not start on a topic
    layout it cannot trust.
    """
    catalog = catalog or load_catalog()
    async with admin_client(settings) as admin:
        plan = await plan_cluster(admin, catalog, settings.topic_prefix)
        await apply_plan(admin, plan)
    if strict and plan.refusals:
        raise TopicsRefusedError(plan)
    return plan
