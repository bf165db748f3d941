"""The operations console's read model: stuck sagas (pure) and consumer lag and throughput
(from this worker's Prometheus metrics)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry

from engine.api.finance import histogram
from engine.api.views import entered_current_state
from engine.exceptions_queue.queue import EXCEPTION_STATE
from engine.saga.model import SagaState
from engine.sagas import DEAL_SAGA
from engine.sagas import REGISTRY as SAGA_REGISTRY

THROUGHPUT_WINDOW_S = 300.0


def stuck(states: Mapping[tuple[str, str], SagaState], now: datetime) -> list[dict[str, Any]]:
    """Sagas with no transition for longer than their state's expected time, longest first."""
    out = []
    for (saga_type, key), s in states.items():
        registered = SAGA_REGISTRY.get(saga_type)
        expected = registered.hooks.view.expected_seconds.get(s.state) if registered else None
        if expected is None or (registered and s.state in registered.definition.terminal):
            continue
        since = entered_current_state(s)
        if since is None:
            continue
        age = max(0.0, (now - since).total_seconds())
        if age > expected:
            out.append(
                {
                    "saga_type": saga_type,
                    "saga_key": key,
                    "state": s.state,
                    "in_state_since": since.isoformat(),
                    "in_state_seconds": age,
                    "expected_seconds": expected,
                }
            )
    return sorted(out, key=lambda i: (-i["in_state_seconds"], i["saga_key"]))


def aging(states: Mapping[tuple[str, str], SagaState], now: datetime) -> dict[str, Any]:
    """How long the deal saga's unfinished instances have been in their current state (a
    histogram in hours, exceptions counted apart), for the aging chart."""
    open_ages: list[float] = []
    exception_ages: list[float] = []
    for (saga_type, _key), s in states.items():
        registered = SAGA_REGISTRY.get(saga_type)
        if (
            saga_type != DEAL_SAGA
            or registered is None
            or s.state in registered.definition.terminal
        ):
            continue
        since = entered_current_state(s)
        if since is None:
            continue
        age = max(0.0, (now - since).total_seconds())
        (exception_ages if s.state == EXCEPTION_STATE else open_ages).append(age)
    return {
        "saga_type": DEAL_SAGA,
        "in_progress": histogram(open_ages),
        "exception": histogram(exception_ages),
    }


def _samples(registry: CollectorRegistry, metric: str) -> list[tuple[dict[str, str], float]]:
    return [
        (dict(sample.labels), sample.value)
        for family in registry.collect()
        for sample in family.samples
        if sample.name == metric
    ]


class Throughput:
    """Events applied and commands written per second over the last `window_s`, from samples
    of the worker's counters taken when it is made and at each call."""

    def __init__(
        self,
        registry: CollectorRegistry = REGISTRY,
        clock: Callable[[], float] = time.monotonic,
        window_s: float = THROUGHPUT_WINDOW_S,
    ) -> None:
        self._registry = registry
        self._clock = clock
        self._window_s = window_s
        self._history: deque[tuple[float, float, float]] = deque()
        self._sample()  # so the first read has a rate since the API started

    def _sample(self) -> tuple[float, float, float]:
        sample = (
            self._clock(),
            self._total("q2c_records_processed_total"),
            self._total("q2c_commands_emitted_total"),
        )
        self._history.append(sample)
        return sample

    def _total(self, metric: str) -> float:
        return sum(v for _labels, v in _samples(self._registry, metric))

    def read(self) -> dict[str, Any]:
        """Totals, rates over the window (None when the samples in it span under a second)
        and lag by partition."""
        now, events, commands = self._sample()
        while self._history and now - self._history[0][0] > self._window_s:
            self._history.popleft()
        first = self._history[0]
        span = now - first[0]
        lag = sorted(
            (
                {
                    "topic": labels.get("topic", ""),
                    "partition": int(labels.get("partition", "0") or 0),
                    "records": int(value),
                }
                for labels, value in _samples(self._registry, "q2c_consumer_lag_records")
            ),
            key=lambda r: (r["topic"], r["partition"]),
        )
        return {
            "events_total": int(events),
            "commands_total": int(commands),
            "events_per_s": (events - first[1]) / span if span >= 1 else None,
            "commands_per_s": (commands - first[2]) / span if span >= 1 else None,
            "window_s": span,
            "lag": lag,
            "lag_total": sum(r["records"] for r in lag),
        }
