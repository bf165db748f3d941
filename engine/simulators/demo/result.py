"""What a finished demo run found: everything the summary shows and the exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.saga.model import SagaState
from engine.simulators.board import SagaBoard
from engine.simulators.deals import DealBook
from engine.simulators.native.stats import PlatformStats
from engine.simulators.platforms import PlatformsSnapshot


@dataclass
class DemoResult:
    """Everything the summary shows, for tests and the exit code."""

    book: DealBook
    final_states: dict[tuple[str, str], SagaState]
    board: SagaBoard
    platforms: PlatformsSnapshot
    invoices_by_deal: dict[str, list[str]]
    escalations: int
    validations_answered: int | None  # None: the engine ran in worker processes
    dlq_records: int
    unaccounted: list[str]
    elapsed_s: float
    bootstrap: str
    exceptions: dict[str, str] = field(default_factory=dict)
    activation_sla_hours: int = 72
    status_url: str | None = None
    # With `--platforms`: per platform, what went over HTTP (empty on the canonical path).
    platform_stats: list[PlatformStats] = field(default_factory=list)
    # With `worker_kills`: how many times a worker was SIGKILLed, and where their logs are.
    workers_killed: int = 0
    worker_logs: Path | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.unaccounted else 0

    def final_state(self, saga_type: str, deal_id: str) -> str | None:
        state = self.final_states.get((saga_type, deal_id))
        return state.state if state else None
