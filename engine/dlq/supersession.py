"""Which dead-lettered commands a later command has made stale (pure).

Some commands set an absolute value (`Command.SUPERSEDED_BY_LATER`: a CRM status, a project
budget, a billing total). The saga sends them newest last and never sends an older amendment's
after a newer one, so on the command topic a later command of the same type and key is its
successor. A dead letter replayed after its successor took effect would write the older value
back at the platform; a replay therefore skips a dead letter whose original topic partition
holds a successor, and names it.

A successor is a record after the dead letter's original offset, on the same partition (one key
is one partition), with the same key and command type and another command id, that the saga
wrote itself: an operator's earlier replay of the same or another command (`q2c.replay.*`
headers) is not a successor, since it is a copy of what was already on the topic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.codec.headers import EVENT_ID, EVENT_TYPE
from engine.contracts.registry import COMMAND_MODELS
from engine.dlq.plan import REPLAY_ID
from engine.dlq.records import DeadLetter, format_ref
from engine.kafka.records import InRecord, TopicPartition

SUPERSEDABLE: frozenset[str] = frozenset(
    name for name, cls in COMMAND_MODELS.items() if cls.SUPERSEDED_BY_LATER
)


@dataclass(frozen=True)
class Superseded:
    """A dead letter not to replay, and the command that superseded it."""

    letter: DeadLetter
    successor: str  # `topic:partition:offset` of the later command

    def to_json(self) -> dict[str, str]:
        return {"record": self.letter.ref, "superseded_by": self.successor}

    def describe(self) -> str:
        """One line for the operator."""
        return (
            f"{self.letter.ref}: {self.letter.event_type} for {self.letter.key_text!r} is "
            f"superseded by the later {self.successor}; not replayed (--include-superseded "
            "sends it anyway)"
        )


def _header(rec: InRecord, name: str) -> str | None:
    value = rec.header(name)
    return None if value is None else value.decode(errors="replace")


def checked(letters: Iterable[DeadLetter]) -> list[DeadLetter]:
    """The dead letters a successor could make stale (a supersedable command with its origin)."""
    return [
        dl
        for dl in letters
        if dl.event_type in SUPERSEDABLE and dl.original_partition >= 0 and dl.original_offset >= 0
    ]


def scan_starts(letters: Iterable[DeadLetter]) -> dict[TopicPartition, int]:
    """Where to read each original partition from: just after its earliest checked letter."""
    starts: dict[TopicPartition, int] = {}
    for dl in checked(letters):
        tp = TopicPartition(dl.original_topic, dl.original_partition)
        starts[tp] = min(starts.get(tp, dl.original_offset + 1), dl.original_offset + 1)
    return starts


class SuccessorIndex:
    """The last saga-written command per (partition, key, type) among the records read."""

    def __init__(self, letters: Iterable[DeadLetter]) -> None:
        self._letters = checked(letters)
        self._wanted = {
            (dl.original_topic, dl.original_partition, dl.key, dl.event_type)
            for dl in self._letters
        }
        # (topic, partition, key, type) -> [(offset, command id)] in offset order
        self._seen: dict[tuple[str, int, bytes | None, str], list[tuple[int, str | None]]] = {}

    def add(self, rec: InRecord) -> None:
        """One record of an original partition, read in offset order."""
        if rec.header(REPLAY_ID) is not None:
            return
        where = (rec.topic, rec.partition, rec.key, _header(rec, EVENT_TYPE) or "")
        if where in self._wanted:
            self._seen.setdefault(where, []).append((rec.offset, _header(rec, EVENT_ID)))

    def superseded(self) -> list[Superseded]:
        """The checked letters with a successor, in the order given."""
        out = []
        for dl in self._letters:
            where = (dl.original_topic, dl.original_partition, dl.key, dl.event_type or "")
            own_id = dl.header(EVENT_ID)
            later = [
                offset
                for offset, command_id in self._seen.get(where, [])
                if offset > dl.original_offset and command_id != own_id
            ]
            if later:
                successor = format_ref(dl.original_topic, dl.original_partition, max(later))
                out.append(Superseded(dl, successor))
        return out
