"""Replay progress and purge markers kept in `q2c.ops.replay-progress` (pure bookkeeping).

The topic is compacted. Key `replay:<id>` holds the latest checkpoint of a replay: its filter,
target, and the last DLQ offset replayed per DLQ partition. Replays go through each partition in
offset order, so "last offset done" is enough to resume without repeating a record. Key
`purge:<id>` holds the DLQ references one purge marked as purged; compaction keeps every purge
(distinct keys), so list and replay can skip purged records for as long as the DLQ keeps them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from engine.dlq.records import DeadLetter

REPLAY_PREFIX = "replay:"
# A checkpoint's status: "partial" is a replay stopped by its --limit, "interrupted" one stopped
# by an error or Ctrl-C; a killed replay stays "running" (no process is left to say otherwise).
ProgressStatus = Literal["running", "interrupted", "partial", "done"]
PURGE_PREFIX = "purge:"


def _part(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


@dataclass(frozen=True)
class ReplayProgress:
    """A replay's checkpoint. `done` maps `<dlq topic>:<partition>` to the last offset replayed."""

    replay_id: str
    by: str
    started_at: str
    filter: dict[str, Any]
    target: str  # "original" or a topic name
    done: dict[str, int] = field(default_factory=dict)
    count: int = 0
    status: ProgressStatus = "running"

    @property
    def finished(self) -> bool:
        return self.status == "done"

    def is_done(self, dl: DeadLetter) -> bool:
        last = self.done.get(_part(dl.topic, dl.partition))
        return last is not None and dl.offset <= last

    def advance(self, dl: DeadLetter) -> ReplayProgress:
        """After `dl` was replayed; offsets per partition only move forward."""
        part = _part(dl.topic, dl.partition)
        last = max(self.done.get(part, -1), dl.offset)
        return replace(self, done={**self.done, part: last}, count=self.count + 1)

    def pending(self, letters: list[DeadLetter]) -> list[DeadLetter]:
        return [dl for dl in letters if not self.is_done(dl)]

    @property
    def key(self) -> bytes:
        return f"{REPLAY_PREFIX}{self.replay_id}".encode()

    def to_bytes(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> ReplayProgress:
        return cls(**json.loads(raw))


def unfinished_like(
    replays: Iterable[ReplayProgress], filter: dict[str, Any], target: str
) -> ReplayProgress | None:
    """The latest replay of the same filter and target that did not finish, if any.

    A killed replay stays `running` in its checkpoint: no process is left to say otherwise.
    """
    same = [r for r in replays if r.filter == filter and r.target == target and not r.finished]
    return max(same, key=lambda r: r.started_at, default=None)


@dataclass(frozen=True)
class PurgeMarker:
    """The DLQ references one purge removed from view."""

    purge_id: str
    refs: tuple[str, ...]

    @property
    def key(self) -> bytes:
        return f"{PURGE_PREFIX}{self.purge_id}".encode()

    def to_bytes(self) -> bytes:
        return json.dumps({"purge_id": self.purge_id, "refs": list(self.refs)}).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> PurgeMarker:
        data = json.loads(raw)
        return cls(data["purge_id"], tuple(data["refs"]))


@dataclass
class OpsState:
    """Everything read back from the progress topic: replays by id and purged refs."""

    replays: dict[str, ReplayProgress] = field(default_factory=dict)
    purged: set[str] = field(default_factory=set)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """Fold one record of the progress topic in (latest wins, like compaction)."""
        text = (key or b"").decode(errors="replace")
        if text.startswith(REPLAY_PREFIX):
            replay_id = text[len(REPLAY_PREFIX) :]
            if value is None:
                self.replays.pop(replay_id, None)
            else:
                self.replays[replay_id] = ReplayProgress.from_bytes(value)
        elif text.startswith(PURGE_PREFIX) and value is not None:
            self.purged.update(PurgeMarker.from_bytes(value).refs)
