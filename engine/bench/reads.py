"""What operator reads cost the worker's event loop as the book of business grows.

In process, no broker: the status page's overview over a store of `sagas` sagas (from the
store's maintained counts and tallies, as the API's local source reads it), and the DLQ summary's view over
`letters` dead letters (its Kafka read is left out: that cost is in the broker's I/O, not in
this figure). Each is timed as the median of a few calls, since either runs on the event loop
for its whole length.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.api import views
from engine.bench.memory import filled_store, template_states
from engine.dlq.headers import Failure, dead_letter_headers
from engine.dlq.records import DeadLetter
from engine.kafka.records import InRecord
from engine.runtime.names import TopicNames

CALLS = 3
ERROR_CLASSES = ("engine.codec.DecodeError", "engine.adapters.errors.PermanentError")


@dataclass(frozen=True)
class ReadCosts:
    """Milliseconds of one call, at the sizes they were measured with."""

    sagas: int
    overview_ms: float
    letters: int
    dlq_summary_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "sagas": self.sagas,
            "overview_ms": self.overview_ms,
            "dead_letters": self.letters,
            "dlq_summary_ms": self.dlq_summary_ms,
        }


def _median_ms(call: Callable[[], object]) -> float:
    samples = []
    for _ in range(CALLS):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000.0)
    return statistics.median(samples)


def dead_letters(count: int, names: TopicNames) -> list[DeadLetter]:
    """`count` dead letters of inbound events, two error classes, as the worker writes them."""
    out = []
    for i in range(count):
        original = InRecord(names.inbound[0], i % 6, i, b"K", b"v", (), 1_700_000_000_000 + i)
        failure = Failure(ERROR_CLASSES[i % 2], "cannot decode", "decode", "q2c", "w-0")
        headers = dead_letter_headers(original, failure)
        out.append(
            DeadLetter.from_record(
                InRecord(
                    names.dlq(original.topic), 0, i, b"K", b"v", headers, original.timestamp_ms
                )
            )
        )
    return out


def read_costs(deals: int, letters: int) -> ReadCosts:
    """The overview over `deals` deals' sagas and the DLQ summary over `letters` letters."""
    store = filled_store(deals, template_states(datetime.now(UTC)))
    names = TopicNames("")
    letter_list = dead_letters(letters, names)
    return ReadCosts(
        sagas=len(store),
        # As the API's local source reads it: the store's maintained counts and tallies.
        overview_ms=_median_ms(lambda: views.overview_of(store.state_counts(), store.overview())),
        letters=letters,
        dlq_summary_ms=_median_ms(lambda: views.dlq_summary(letter_list, names)),
    )


__all__ = ["ReadCosts", "dead_letters", "read_costs"]
