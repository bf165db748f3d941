"""The correlation index: source-system ids (ERP project id, billing invoice id) -> saga key.

Built from the sagas' own `Correlate` effects, written to the compacted `q2c.saga.correlation`
topic in the same transaction as the state that learned them, and read in full by every worker
(a global table), so any worker can route an event that only carries a source id.
"""

from __future__ import annotations

import weakref
from typing import Any, Protocol

from engine.kafka.global_table import TopicFollower
from engine.kafka.records import InRecord


def index_key(id_kind: str, id_value: str) -> str:
    return f"{id_kind}:{id_value}"


class Watcher(Protocol):
    """Told of every index key that appears (the wait rooms of the tasks)."""

    def learnt(self, index_key: str) -> None: ...


class CorrelationTable:
    """In-memory view of the correlation topic, kept current by a background reader."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self._map: dict[str, str] = {}
        self._by_saga: dict[str, set[str]] = {}  # saga key -> its index keys (for removal)
        # Entries put by this worker and not yet read back from the topic: their transaction
        # may still abort, so they must be written again by whoever learns them next.
        self._unconfirmed: set[str] = set()
        self._follower = TopicFollower([topic], self._apply)
        # Held weakly: a task's wait room goes with its task.
        self._watchers: weakref.WeakSet[Watcher] = weakref.WeakSet()

    def get(self, id_kind: str, id_value: str) -> str | None:
        return self._map.get(index_key(id_kind, id_value))

    def put(self, id_kind: str, id_value: str, saga_key: str) -> None:
        key = index_key(id_kind, id_value)
        if self._map.get(key) != saga_key:
            self._unconfirmed.add(key)
            self._learnt(key, saga_key)

    def on_topic(self, id_kind: str, id_value: str, saga_key: str) -> bool:
        """Whether the topic already maps the id to `saga_key` (writing it again is a no-op)."""
        key = index_key(id_kind, id_value)
        return self._map.get(key) == saga_key and key not in self._unconfirmed

    def keys_of(self, saga_key: str) -> list[str]:
        """The index keys that map to `saga_key` (what to tombstone when its sagas are gone)."""
        return sorted(self._by_saga.get(saga_key, ()))

    def watch(self, watcher: Watcher) -> None:
        """Tell `watcher` of every index key learnt from now on (idempotent)."""
        self._watchers.add(watcher)

    def __len__(self) -> int:
        return len(self._map)

    async def start(self, options: dict[str, Any]) -> None:
        """Load the whole topic, then follow it in the background."""
        await self._follower.start(options)

    async def stop(self) -> None:
        await self._follower.stop()

    def _apply(self, rec: InRecord) -> None:
        if rec.key is None:
            return
        key = rec.key.decode()
        self._unconfirmed.discard(key)
        if rec.value is None:
            self._forget(key, self._map.pop(key, None))
        else:
            self._learnt(key, rec.value.decode())

    def _learnt(self, key: str, saga_key: str) -> None:
        self._forget(key, self._map.get(key))
        self._map[key] = saga_key
        self._by_saga.setdefault(saga_key, set()).add(key)
        for watcher in self._watchers:
            watcher.learnt(key)

    def _forget(self, key: str, saga_key: str | None) -> None:
        if saga_key is None or saga_key not in self._by_saga:
            return
        keys = self._by_saga[saga_key]
        keys.discard(key)
        if not keys:
            del self._by_saga[saga_key]
