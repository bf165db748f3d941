"""A persistent (immutable, structurally shared) set of event ids for per-saga dedupe."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class SeenIds:
    """Immutable set of ids stored as a tuple of small frozen chunks.

    A saga remembers every event id it has processed for its whole life. Copying one flat
    frozenset per event would make `step` O(n) in the saga's age; here adding an id copies only
    the last (bounded) chunk and the tuple of chunk references, which every older value shares.
    """

    chunks: tuple[frozenset[str], ...] = ()
    CHUNK_SIZE: ClassVar[int] = 256

    def __contains__(self, item: object) -> bool:
        # Newest chunk first: duplicates are usually redeliveries of recent events. A plain
        # loop, not any() over a generator: this runs once per event (0.33 -> 0.14 us).
        for chunk in reversed(self.chunks):  # noqa: SIM110
            if item in chunk:
                return True
        return False

    def __len__(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)

    def __iter__(self) -> Iterator[str]:
        for chunk in self.chunks:
            yield from sorted(chunk)

    def add(self, item: str) -> SeenIds:
        """Return a set that also holds `item` (self when it is already present)."""
        if item in self:
            return self
        if self.chunks and len(self.chunks[-1]) < self.CHUNK_SIZE:
            return SeenIds((*self.chunks[:-1], self.chunks[-1] | {item}))
        return SeenIds((*self.chunks, frozenset((item,))))

    @classmethod
    def of(cls, items: Iterable[str]) -> SeenIds:
        """Build a set from `items`, chunked exactly as adding them one by one would."""
        unique = list(dict.fromkeys(items))
        size = cls.CHUNK_SIZE
        return cls(tuple(frozenset(unique[i : i + size]) for i in range(0, len(unique), size)))
