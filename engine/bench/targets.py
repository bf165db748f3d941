"""The hot-path issue's targets, checked against one `q2c bench --json` document (pure).

Each target names the JSON figure it reads, so the verdict can be traced to the number. A
figure the run did not measure (a failed system, a phase left out) is "not measured", never
counted as met.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

AT_MOST: Callable[[float, float], bool] = operator.le
AT_LEAST: Callable[[float, float], bool] = operator.ge


@dataclass(frozen=True)
class Target:
    """`path` (dotted, into the bench JSON) compared with `limit` by `meets`."""

    name: str
    path: str
    limit: float
    meets: Callable[[float, float], bool]

    @property
    def relation(self) -> str:
        return "<=" if self.meets is AT_MOST else ">="

    def figure(self, doc: dict[str, Any]) -> float | None:
        node: Any = doc
        for part in self.path.split("."):
            if not isinstance(node, dict) or node.get(part) is None:
                return None
            node = node[part]
        return float(node) if isinstance(node, int | float) else None

    def check(self, doc: dict[str, Any]) -> dict[str, Any]:
        value = self.figure(doc)
        return {
            "target": self.name,
            "figure": self.path,
            "value": value,
            "relation": self.relation,
            "limit": self.limit,
            "met": None if value is None else self.meets(value, self.limit),
        }


TARGETS: tuple[Target, ...] = (
    Target("EOS throughput vs transactional raw pipe", "exactly_once.ratio_to_raw_pipe_txn", 0.30, AT_LEAST),
    Target("ALO throughput vs raw pipe", "at_least_once.ratio_to_raw_pipe", 0.40, AT_LEAST),
    Target("EOS throughput vs faust", "exactly_once.ratio_to_faust", 1.0, AT_LEAST),
    Target("ALO throughput vs faust", "at_least_once.ratio_to_faust", 1.0, AT_LEAST),
    Target("EOS p99 at the fixed load", "exactly_once.p99_fixed_ratio_to_raw_pipe_txn", 1.5, AT_MOST),
    Target("EOS p99 at 50% saturation", "exactly_once.p99_half_saturation_ratio_to_raw_pipe_txn", 1.5, AT_MOST),
    Target("ALO p99 at the fixed load", "at_least_once.p99_fixed_ratio_to_raw_pipe", 1.5, AT_MOST),
    Target("ALO p99 at 50% saturation", "at_least_once.p99_half_saturation_ratio_to_raw_pipe", 1.5, AT_MOST),
    Target("restore records/s", "restore.records_per_s", 100_000, AT_LEAST),
    Target("store bytes per active saga", "memory.bytes_per_active_saga", 1024, AT_MOST),
    # O(log n) parking: log(20,000) / log(100) is 2.15; a scan would be 200.
    Target("parking a record, 20k vs 100 waiting", "hostile_input.park_cost_ratio_large_to_small", 3.0, AT_MOST),
    # "Must not grow with the number of sagas": 25% is the allowance for the bench's noise.
    Target("status-page overview (ms)", "operator_reads.overview_ms", 5.0, AT_MOST),
    Target("DLQ summary (ms)", "operator_reads.dlq_summary_ms", 5.0, AT_MOST),
    Target("CPU per event, 100k vs 1k sagas", "cost_growth.cpu_growth_ratio", 1.25, AT_MOST),
)  # fmt: skip


def assess(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target's figure, limit and verdict (`met` None: the run did not measure it)."""
    return [t.check(doc) for t in TARGETS]


__all__ = ["TARGETS", "Target", "assess"]
