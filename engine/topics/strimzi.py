"""The topic catalog and the principals as Strimzi resources, for clusters run by Strimzi.

Pure: catalog (+ ACL bindings) + prefix + cluster name in, resource dicts out; `q2c topics
export --format strimzi` writes them as one multi-document YAML stream. The Topic Operator
then owns creating and configuring the topics (instead of `q2c topics apply`), the User
Operator the users, their credentials and their ACLs (instead of `q2c acls apply`).

`kafka.strimzi.io/v1` (Strimzi 0.49.0 and later); deploy/crds/ holds the CRDs the suite
validates against.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from engine.security.acls import AclBinding, PatternType, ResourceType
from engine.security.principals import PrincipalSpec
from engine.topics.models import Catalog, TopicSpec
from engine.topics.naming import name

STRIMZI_API_VERSION = "kafka.strimzi.io/v1"
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


class Authentication(StrEnum):
    """How a `KafkaUser` authenticates; the User Operator writes its credentials to a Secret
    named after the user (`password` for SCRAM, `user.crt`/`user.key` for TLS)."""

    SCRAM_SHA_512 = "scram-sha-512"
    TLS = "tls"


_RESOURCE_TYPES = {
    ResourceType.TOPIC: "topic",
    ResourceType.GROUP: "group",
    ResourceType.CLUSTER: "cluster",
    ResourceType.TRANSACTIONAL_ID: "transactionalId",
}
_PATTERNS = {PatternType.LITERAL: "literal", PatternType.PREFIXED: "prefix"}


def acl_rules(bindings: Iterable[AclBinding]) -> list[dict[str, Any]]:
    """Strimzi `simple` ACL rules: one per resource (and host, permission), its operations
    merged (`READ` -> `Read`, `IDEMPOTENT_WRITE` -> `IdempotentWrite`)."""
    rules: dict[tuple[ResourceType, str, PatternType, str, str], list[str]] = {}
    for b in sorted(bindings):
        key = (b.resource_type, b.resource, b.pattern, b.host, b.permission.name.lower())
        operation = "".join(part.capitalize() for part in b.operation.name.split("_"))
        rules.setdefault(key, []).append(operation)
    out = []
    for (kind, resource, pattern, host, permission), operations in rules.items():
        target: dict[str, str] = {"type": _RESOURCE_TYPES[kind]}
        if kind is not ResourceType.CLUSTER:  # the cluster resource has no name
            target |= {"name": resource, "patternType": _PATTERNS[pattern]}
        rule: dict[str, Any] = {"type": permission, "resource": target, "operations": operations}
        if host != "*":
            rule["host"] = host
        out.append(rule)
    return out


def kafka_user(
    spec: PrincipalSpec,
    bindings: Iterable[AclBinding],
    *,
    cluster: str,
    authentication: Authentication = Authentication.SCRAM_SHA_512,
    namespace: str | None = None,
) -> dict[str, Any]:
    """One `KafkaUser` named after the principal, with exactly the ACLs of its `bindings`."""
    metadata: dict[str, Any] = {
        "name": spec.name,
        "labels": {CLUSTER_LABEL: cluster, "app.kubernetes.io/part-of": "q2c"},
        "annotations": {"q2c.io/role": spec.role.value},
    }
    if namespace:
        metadata["namespace"] = namespace
    mine = [b for b in bindings if b.principal == spec.kafka_principal]
    return {
        "apiVersion": STRIMZI_API_VERSION,
        "kind": "KafkaUser",
        "metadata": metadata,
        "spec": {
            "authentication": {"type": authentication.value},
            "authorization": {"type": "simple", "acls": acl_rules(mine)},
        },
    }
