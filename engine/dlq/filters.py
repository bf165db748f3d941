"""Which dead letters an operator means: the filter of `q2c dlq list|replay|purge` (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from engine.dlq.records import DeadLetter


@dataclass(frozen=True)
class DlqFilter:
    """All given criteria must hold; an empty filter matches everything.

    `topics` match the DLQ topic or the original topic (full names, prefix applied);
    `error` matches the full exception class name or its last part (`DecodeError`);
    `since`/`until` bound the failure time (inclusive/exclusive); `key` is the exact record key;
    `refs` are exact `<dlq-topic>:<partition>:<offset>` references (the API replays one).
    """

    topics: tuple[str, ...] = ()
    error: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    key: str | None = None
    refs: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return (
            not (self.topics or self.error or self.since or self.until or self.refs)
            and self.key is None
        )

    def matches(self, dl: DeadLetter) -> bool:
        if self.topics and dl.topic not in self.topics and dl.original_topic not in self.topics:
            return False
        if self.error and self.error not in (dl.error_class, dl.error_name):
            return False
        if self.since and dl.failed_at < self.since:
            return False
        if self.until and dl.failed_at >= self.until:
            return False
        if self.refs and dl.ref not in self.refs:
            return False
        return self.key is None or dl.key_text == self.key

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["topics"] = list(self.topics)
        data["refs"] = list(self.refs)
        for k in ("since", "until"):
            data[k] = data[k].isoformat() if data[k] else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DlqFilter:
        return cls(
            topics=tuple(data.get("topics") or ()),
            error=data.get("error"),
            since=datetime.fromisoformat(data["since"]) if data.get("since") else None,
            until=datetime.fromisoformat(data["until"]) if data.get("until") else None,
            key=data.get("key"),
            refs=tuple(data.get("refs") or ()),
        )


def select(
    letters: Iterable[DeadLetter], flt: DlqFilter, purged: frozenset[str] = frozenset()
) -> list[DeadLetter]:
    """Matching, not purged dead letters in (topic, partition, offset) order."""
    chosen = [dl for dl in letters if dl.ref not in purged and flt.matches(dl)]
    return sorted(chosen, key=lambda d: (d.topic, d.partition, d.offset))


def group_counts(letters: Iterable[DeadLetter]) -> list[tuple[str, str, int]]:
    """`(dlq topic, error class, count)` rows, most frequent first."""
    counts = Counter((dl.topic, dl.error_class) for dl in letters)
    return [(t, e, n) for (t, e), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def first_per_origin(letters: list[DeadLetter]) -> list[DeadLetter]:
    """Drop later copies of a record dead-lettered more than once (same original coordinates).

    A worker that retries a transaction whose commit outcome it could not see may dead-letter
    the same input twice; replaying it twice would only be undone by the saga's dedupe. Records
    without original coordinates are all kept.
    """
    seen: set[tuple[str, int, int]] = set()
    out: list[DeadLetter] = []
    for dl in letters:
        origin = (dl.original_topic, dl.original_partition, dl.original_offset)
        if dl.original_offset >= 0 and origin in seen:
            continue
        seen.add(origin)
        out.append(dl)
    return out
