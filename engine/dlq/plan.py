"""What a replay re-publishes (pure): the original record plus replay marks."""

from __future__ import annotations

from datetime import datetime

from engine.dlq.records import DeadLetter
from engine.kafka.records import OutRecord

ORIGINAL = "original"
REPLAY_ID = "q2c.replay.id"
REPLAY_BY = "q2c.replay.by"
REPLAY_AT = "q2c.replay.at"


def full_topic(prefix: str, topic: str) -> str:
    """`topic` with the deployment prefix, unless it already has it (operators type either)."""
    if prefix and topic.startswith("q2c.") and not topic.startswith(prefix):
        return prefix + topic
    return topic


def replay_record(dl: DeadLetter, target: str, replay_id: str, by: str, at: datetime) -> OutRecord:
    """The record as it was before it failed (key, value, headers) with replay headers added.

    `target` is `original` (the topic it failed on) or a topic name. No partition is forced:
    the same key hashes to the same partition it had, so its order with later events holds.
    """
    topic = dl.original_topic if target == ORIGINAL else target
    marks = (
        (REPLAY_ID, replay_id.encode()),
        (REPLAY_BY, by.encode()),
        (REPLAY_AT, at.isoformat().encode()),
    )
    return OutRecord(topic, dl.key, dl.value, (*dl.replay_headers, *marks))
