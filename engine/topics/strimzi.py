"""The topic catalog as Strimzi `KafkaTopic` resources, for clusters run by the Strimzi operator.

Pure: catalog + prefix + cluster name in, a list of resource dicts out; `q2c topics export
--format strimzi` writes them as one multi-document YAML stream. The operator then owns
creating and configuring the topics, instead of `q2c topics apply`.
"""

from __future__ import annotations

import re
from typing import Any

from engine.topics.models import Catalog, TopicSpec
from engine.topics.naming import name

STRIMZI_API_VERSION = "kafka.strimzi.io/v1beta2"
CLUSTER_LABEL = "strimzi.io/cluster"
# metadata.name must be a DNS subdomain: lowercase letters, digits, '-' and '.'.
_NOT_DNS = re.compile(r"[^a-z0-9.-]+")


def resource_name(topic_name: str) -> str:
    """A legal Kubernetes name for a topic (`spec.topicName` then keeps the exact Kafka name)."""
    return _NOT_DNS.sub("-", topic_name.lower()).strip("-.")[:253]


def kafka_topic(
    spec: TopicSpec, *, prefix: str, cluster: str, namespace: str | None = None
) -> dict[str, Any]:
    """One `KafkaTopic` with the entry's partitions, replicas and every config it enforces."""
    topic = name(prefix, spec.name)
    metadata: dict[str, Any] = {
        "name": resource_name(topic),
        "labels": {CLUSTER_LABEL: cluster, "app.kubernetes.io/part-of": "q2c"},
        "annotations": {"q2c.io/owner": spec.owner, "q2c.io/description": spec.description},
    }
    if namespace:
        metadata["namespace"] = namespace
    body: dict[str, Any] = {
        "partitions": spec.partitions,
        "replicas": spec.replication_factor,
        "config": spec.managed_configs(spec.replication_factor),
    }
    # Strimzi's advice: set topicName only when metadata.name cannot be the topic's name.
    if metadata["name"] != topic:
        body = {"topicName": topic, **body}
    return {
        "apiVersion": STRIMZI_API_VERSION,
        "kind": "KafkaTopic",
        "metadata": metadata,
        "spec": body,
    }


def kafka_topics(
    catalog: Catalog, *, prefix: str, cluster: str, namespace: str | None = None
) -> list[dict[str, Any]]:
    """Every catalog entry as a `KafkaTopic`, in catalog order."""
    return [
        kafka_topic(t, prefix=prefix, cluster=cluster, namespace=namespace) for t in catalog.topics
    ]
