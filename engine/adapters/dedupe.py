"""Idempotency helper for handlers: skip a command whose idempotency key was already handled.

Commands are delivered at least once (a crash between handling and the offset commit, a
replay from the dead-letter topic), and every command carries `header.idempotency_key`
(`<saga_key>:<step>`). The runner consults a `Deduper` before calling the handler and records
the key after success. `MemoryDeduper` covers redeliveries within one process; across restarts
pass a `Deduper` backed by the target system (e.g. a unique constraint on the key), which is
the only place that truly knows whether the effect happened.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol


class Deduper(Protocol):
    """Remembers which idempotency keys were handled."""

    async def seen(self, key: str) -> bool: ...

    async def remember(self, key: str) -> None: ...


class MemoryDeduper:
    """A bounded LRU of handled keys (the oldest are forgotten beyond `capacity`)."""

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._keys: OrderedDict[str, None] = OrderedDict()

    async def seen(self, key: str) -> bool:
        if key in self._keys:
            self._keys.move_to_end(key)
            return True
        return False

    async def remember(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.capacity:
            self._keys.popitem(last=False)

    def __len__(self) -> int:
        return len(self._keys)
