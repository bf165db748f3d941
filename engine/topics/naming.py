"""Resolves a catalog (logical) topic name to the name on the cluster."""

from __future__ import annotations

import re

from engine.topics.models import TOPIC_NAME_PATTERN

# Kafka's own limits: legal characters and at most 249 characters per topic name.
_KAFKA_LEGAL = re.compile(r"^[A-Za-z0-9._-]*$")
KAFKA_MAX_NAME = 249


def name(prefix: str, logical: str) -> str:
    """`prefix + logical`, e.g. name("t1a2b.", "q2c.saga.inbox") -> "t1a2b.q2c.saga.inbox".

    `prefix` is `Settings.topic_prefix` (empty in production); it isolates environments and
    test runs sharing a cluster. Raises ValueError when the logical name breaks the naming
    convention or the result is not a legal Kafka topic name, so a typo fails loudly instead
    of addressing a topic nobody creates.
    """
    if not TOPIC_NAME_PATTERN.match(logical):
        raise ValueError(f"{logical!r} is not a q2c topic name (q2c.<domain>.<kind>[.<qualifier>])")
    if not _KAFKA_LEGAL.match(prefix):
        raise ValueError(f"topic prefix {prefix!r} may only use letters, digits, '.', '_' and '-'")
    full = prefix + logical
    if len(full) > KAFKA_MAX_NAME:
        raise ValueError(f"topic name {full!r} is longer than Kafka's {KAFKA_MAX_NAME} characters")
    return full
