"""Full garbage collections on the worker's schedule instead of CPython's.

CPython starts a full (generation 2) collection whenever the objects that survived the young
collections reach a quarter of the long-lived heap. A worker's long-lived heap is large (saga
states and the decode caches: ~160k tracked objects, ~120 ms per full collection) and steadily
renewed, so at 880 events/s it ran 9 full collections in 15 s: about 7% of the events waited
behind one, which is the p99. Here the young collections stay automatic (cheap: bounded by the
young generations) and the full one runs every `interval_s`, which also bounds how long cyclic
garbage lives.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from engine.observability.metrics import GC_FULL_SECONDS

# A generation-2 threshold no count of young collections reaches.
NEVER = 2**31 - 1


class FullCollections:
    """Runs a full collection when `interval_s` has passed since the last one."""

    def __init__(
        self,
        interval_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        collect: Callable[[], object] = gc.collect,
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._collect = collect
        self._last = clock()

    def run_if_due(self) -> float | None:
        """Collect if due; returns the pause in seconds, or None when not due."""
        began = self._clock()
        if began - self._last < self.interval_s:
            return None
        self._collect()
        self._last = self._clock()
        pause = self._last - began
        GC_FULL_SECONDS.observe(pause)
        return pause


_lock = threading.Lock()
_holders = 0
_saved_threshold2 = 0


@contextmanager
def automatic_full_collections_off() -> Iterator[None]:
    """While any holder in the process is inside, CPython starts no full collection itself.

    Counted, so workers run side by side in one process (tests, the bench's scale-out) leave
    the threshold as it was only when the last of them is done.
    """
    global _holders, _saved_threshold2
    with _lock:
        if _holders == 0:
            young0, young1, _saved_threshold2 = gc.get_threshold()
            gc.set_threshold(young0, young1, NEVER)
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                young0, young1, _ = gc.get_threshold()
                gc.set_threshold(young0, young1, _saved_threshold2)
