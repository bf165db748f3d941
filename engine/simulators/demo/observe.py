"""What the demo watches while it runs: topic end offsets and the sagas' status stream."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from engine.codec import DecodeError, decode_consumed
from engine.connectors.registry import CONNECTORS, native_topic
from engine.contracts import SagaStatusChanged
from engine.kafka.client import Consumer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import InRecord, TopicPartition
from engine.runtime.names import TARGETS, TopicNames
from engine.settings import Settings
from engine.simulators.board import SagaBoard
from engine.topics import name

log = logging.getLogger("q2c.demo")


class OffsetTotals:
    """Sums of end offsets of groups of topics: events, commands, dead letters (the engine's
    and the translator's)."""

    def __init__(self, settings: Settings, connection: KafkaConnection) -> None:
        names = TopicNames(settings.topic_prefix)
        inbound = names.inbound
        natives = [name(settings.topic_prefix, native_topic(p)) for p in CONNECTORS]
        self.groups: dict[str, list[str]] = {
            "events": inbound,
            "commands": [names.commands(t) for t in TARGETS],
            # The commands' shared one and the native ones (events the translator could not map).
            "dlq": sorted(
                {names.dlq(t) for t in [*inbound, names.inbox, names.commands("crm"), *natives]}
            ),
        }
        self._consumer = Consumer(connection.options(), group_id=None)
        self._parts: dict[str, list[TopicPartition]] = {}

    async def start(self) -> None:
        await self._consumer.start()
        for group, topics in self.groups.items():
            self._parts[group] = [
                TopicPartition(t, p) for t in topics for p in await self._consumer.partitions_for(t)
            ]

    async def stop(self) -> None:
        await self._consumer.stop()

    async def totals(self) -> dict[str, int]:
        return {
            group: sum((await self._consumer.end_offsets(parts)).values())
            for group, parts in self._parts.items()
        }


def status_applier(board: SagaBoard) -> Callable[[InRecord], None]:
    """A status-topic follower callback that keeps `board` current."""

    def apply(rec: InRecord) -> None:
        if rec.value is None:
            return
        try:
            model = decode_consumed(rec)
        except DecodeError as exc:
            log.warning("unreadable status record: %s", exc)
            return
        if isinstance(model, SagaStatusChanged):
            board.apply(model)

    return apply


@dataclass(frozen=True)
class Progress:
    """Where a running demo is, every tick (what the CLI's live view renders)."""

    sim_now: datetime
    elapsed_s: float
    board: SagaBoard
    rates: dict[str, float] = field(default_factory=dict)
    dlq: int = 0
    down: tuple[str, ...] = ()
    retries: int = 0
    duplicates: int = 0
    done: bool = False
