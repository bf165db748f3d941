"""Dead letters of the Oracle receivables poller, and their replays.

A polled record that cannot become an event (a missing or unparseable field, an unknown
invoice on a receipt) is written to `q2c.billing.poll-replays.dlq`: the record as Oracle sent
it (JSON), keyed `oracle:<resource>:<record id>`, with the dead-letter headers of every q2c
DLQ (a one-line reason naming the field, and the field in `q2c.errors.field.path`). `q2c dlq
list` shows it; `q2c dlq replay` sends it back to its source topic, the compacted
`q2c.billing.poll-replays`, which the poller follows. Its next poll converts each replayed
record again with the current code and settings (the project segment fixed, the invoice a
receipt pays known by now), publishes the events and deletes the replay with a tombstone;
failing again makes a new dead letter. A crash between publishing and the tombstone converts
the record again into the same events (same ids), which the sagas drop.

Fixing a record in Oracle needs no replay: it moves the record's `LastUpdateDate`, so the
next poll reads it anyway.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.connectors.oracle.receivables import PLATFORM, NotAnEvent
from engine.dlq.headers import Failure, Q, dead_letter_headers
from engine.kafka.client import Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.global_table import TopicFollower
from engine.kafka.records import InRecord, OutRecord
from engine.lifecycle import AsyncStartStop
from engine.settings import Settings
from engine.topics.naming import name as topic_name

REPLAY_TOPIC = "q2c.billing.poll-replays"
PROCESSOR = "q2c-oracle-poller"
FIELD_PATH = Q + "field.path"


@dataclass(frozen=True)
class Replay:
    """A dead-lettered record sent back by `q2c dlq replay`, waiting for the next poll."""

    key: str
    resource: str
    item: dict[str, Any] | None  # None: the replayed value is not a JSON object


def _value(item: Mapping[str, Any]) -> bytes:
    return json.dumps(item, sort_keys=True, default=str).encode()


def key_of(resource: str, record_id: str | None, item: Mapping[str, Any]) -> str:
    """The dead-letter key of a polled item."""
    return record_key(resource, record_id, _value(item))


def record_key(resource: str, record_id: str | None, value: bytes) -> str:
    """`oracle:<resource>:<record id>`; a record without its id is keyed by its content."""
    ident = record_id or "content-" + hashlib.sha256(value).hexdigest()[:16]
    return f"{PLATFORM}:{resource}:{ident}"


def dead_letter_record(
    topic: str, key: str, value: bytes, problem: NotAnEvent, now_ms: int
) -> OutRecord:
    """The dead letter of one polled record (pure): its bytes and the reason."""
    failure = Failure.from_exception(
        problem, stage="convert", processor=PROCESSOR, task_id=key.rsplit(":", 1)[0], now_ms=now_ms
    )
    # Never on a topic before: the coordinates name the replay topic, offset -1.
    source = InRecord(topic, 0, -1, key.encode(), value, (), now_ms)
    headers = (*dead_letter_headers(source, failure), (FIELD_PATH, problem.field_path.encode()))
    return OutRecord(topic + ".dlq", key.encode(), value, headers)


def replay_of(key: str, value: bytes) -> Replay:
    """A replayed record as the poller converts it (pure)."""
    resource = key.split(":", 2)[1] if key.count(":") >= 2 else ""
    try:
        item = json.loads(value)
    except ValueError:
        item = None
    return Replay(key, resource, item if isinstance(item, dict) else None)


class PollDeadLetters(AsyncStartStop):
    """Writes the poller's dead letters and follows their replays."""

    def __init__(self, settings: Settings, connection: KafkaConnection | None = None) -> None:
        """`connection`: the process's (built from `settings` when not given)."""
        self.settings = settings
        self.connection = connection or KafkaConnection.from_settings(settings)
        self.topic = topic_name(settings.topic_prefix, REPLAY_TOPIC)
        self._pending: dict[str, bytes] = {}
        self._follower: TopicFollower | None = None
        self._producer: Producer | None = None

    def _apply(self, rec: InRecord) -> None:
        if rec.key is None:
            return
        key = rec.key.decode(errors="replace")
        if rec.value is None:
            self._pending.pop(key, None)  # done (a tombstone)
        else:
            self._pending[key] = rec.value

    async def start(self) -> None:
        options = self.connection.options()
        producer = Producer(options, client_id=f"{self.settings.client_id}-oracle-poller-dlq")
        await producer.start()
        self._producer = producer
        follower = TopicFollower([self.topic], self._apply)
        await follower.start(options)
        self._follower = follower

    async def stop(self) -> None:
        if self._follower is not None:
            follower, self._follower = self._follower, None
            await follower.stop()
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    def replays(self) -> list[Replay]:
        """The replays not done yet, in the order they arrived."""
        return [replay_of(key, value) for key, value in dict(self._pending).items()]

    async def dead_letter(
        self, resource: str, record_id: str | None, item: Mapping[str, Any], problem: NotAnEvent
    ) -> None:
        """Write the record's dead letter and wait for the broker's ack."""
        value = _value(item)
        key = record_key(resource, record_id, value)
        now_ms = int(time.time() * 1000)
        await self._send(dead_letter_record(self.topic, key, value, problem, now_ms))

    async def done(self, replay: Replay) -> None:
        """The replay was converted (or dead-lettered again): delete it."""
        await self._send(OutRecord(self.topic, replay.key.encode(), None, ()))
        self._pending.pop(replay.key, None)

    async def _send(self, record: OutRecord) -> None:
        if self._producer is None:
            raise RuntimeError("PollDeadLetters is not started")
        await self._producer.send_and_wait(record)
