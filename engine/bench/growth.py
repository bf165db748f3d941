"""Cost growth: the engine's throughput and CPU per event with 1k, 10k and 100k active sagas.

Each size is its own engine run on fresh topics: the warm-up opens `sagas` deals (closed-won
and the account-validated reply, so each quote-to-cash saga waits for its project) and the
measured drain is the same set of whole fresh deals for every size, published once the warm-up
is processed (see `Workload.drain_after_warmup`). A cost per event that grows
with the store (a scan, a re-sort, a full-state encode) shows as a ratio above 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.bench.results import ENGINE, GrowthPoint
from engine.bench.runner import RunConfig, SystemRun, Workload
from engine.bench.workload import BenchRecord, account_validated, deal_ids, encode_event
from engine.workload.histories import HistoryOptions, closed_won

FULL_SIZES: tuple[int, ...] = (1_000, 10_000, 100_000)
QUICK_SIZES: tuple[int, ...] = (100, 1_000)


def openings(run: str, sagas: int, options: HistoryOptions) -> list[BenchRecord]:
    """closed-won + account-validated for `sagas` fresh deals: that many waiting sagas."""
    out: list[BenchRecord] = []
    for deal in deal_ids(run, f"g{sagas}", sagas):
        out.append(encode_event(closed_won(deal, options)))
        out.append(encode_event(account_validated(deal, options.base_time)))
    return out


async def cost_growth(
    cfg: RunConfig,
    measured: Sequence[BenchRecord],
    sizes: Sequence[int],
    options: HistoryOptions,
    progress: Callable[[str], None] = lambda _msg: None,
) -> list[GrowthPoint]:
    """One exactly-once engine run per size of `sizes`, each draining `measured`."""
    points = []
    for sagas in sizes:
        progress(f"cost growth: {sagas:,} active sagas")
        work = Workload(
            warmup=openings(cfg.run_id, sagas, options),
            drain=measured,
            fixed=(),
            saturation_pool=(),
            drain_after_warmup=True,
        )
        run = SystemRun(cfg, ENGINE, "exactly_once", tag=f"-g{sagas}")
        points.append(GrowthPoint(sagas, await run.run(work, latency=False)))
    return points


__all__ = ["FULL_SIZES", "QUICK_SIZES", "cost_growth", "openings"]
