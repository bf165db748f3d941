"""Saga states and a fake `Operations` for the API unit tests (no broker)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiokafka.errors import KafkaConnectionError

from engine.api.app import ApiContext, create_app
from engine.api.auth import TokenAuthority
from engine.api.operations import NOTE_ACTION
from engine.api.sources import FixedStates, StateMap
from engine.api.timeline import CommandSeen
from engine.api.views import notes_by_key
from engine.dlq.replay import ReplaySuperseded
from engine.exceptions_queue.actions import ExceptionAction, States, in_exception
from engine.ops.audit import AuditRecord
from engine.sagas.quote_to_cash import QUOTE_TO_CASH
from engine.sagas.quote_to_cash_hooks import next_attempt
from tests.unit.sagas_fixtures import (
    NOW,
    History,
    milestone_contract,
    milestone_happy_path,
    milestone_ref,
    run,
)

VIEWER = "view-token"
OPERATOR = "op-token"
CLOCK_NOW = NOW + timedelta(hours=2)


def sample_states() -> StateMap:
    """D-1 completed, D-2 active with one unpaid invoice, D-3 in exception."""
    done = run(QUOTE_TO_CASH, milestone_happy_path(History("D-1"))).state
    h = History("D-2")
    active = run(
        QUOTE_TO_CASH,
        [*milestone_happy_path(h)[:6], h.invoice_issued("I-1", milestone_ref("M1", "D-2"), "1000")],
    ).state
    h3 = History("D-3")
    failed = run(
        QUOTE_TO_CASH,
        [h3.closed_won(milestone_contract()), h3.account_validation_failed("unknown legal entity")],
    ).state
    return {(s.saga_type, s.saga_key): s for s in (done, active, failed)}


class FakeOperations:
    """Records what the API asked for; answers like the Kafka implementation would."""

    def __init__(self) -> None:
        self.audits: list[dict[str, Any]] = []
        self.calls: list[tuple[str, Any]] = []
        self.notes: list[AuditRecord] = []
        self.commands: list[CommandSeen] = []
        self.commands_fail = False

    async def dlq_summary(self) -> dict[str, Any]:
        return {
            "total": 1,
            "by_topic": {"q2c.crm.events.dlq": 1},
            "by_error": [{"topic": "q2c.crm.events.dlq", "error_class": "DecodeError", "count": 1}],
            "recent": [
                {
                    "topic": "q2c.crm.events.dlq",
                    "partition": 0,
                    "offset": 0,
                    "timestamp_ms": 1,
                    "error_class": "DecodeError",
                    "message": "bad bytes",
                    "stage": "decode",
                    "original_topic": "q2c.crm.events",
                    "event_type": None,
                }
            ],
        }

    async def replay(
        self, topic: str, partition: int, offset: int, actor: str
    ) -> dict[str, Any] | None:
        self.calls.append(("replay", (topic, partition, offset)))
        if (topic, partition, offset) == ("q2c.commands.dlq", 0, 3):
            self._audited(actor, "dlq.replay", topic, "done")
            raise ReplaySuperseded(
                "q2c.commands.dlq:0:3: update-crm-status for 'D-1' is superseded by the later "
                "q2c.commands.crm:1:40; not replayed (--include-superseded sends it anyway)"
            )
        found = (topic, partition, offset) == ("q2c.crm.events.dlq", 0, 0)
        # engine.dlq.replay.replay audits every replay, found or not.
        self._audited(actor, "dlq.replay", topic, "done" if found else "not-found")
        if not found:
            return None
        return {"replayed_to": "q2c.crm.events", "partition": 0, "offset": 7}

    async def resolve(
        self, action: ExceptionAction, saga_key: str, states: States, actor: str, reason: str
    ) -> dict[str, Any]:
        state = in_exception(states, saga_key)  # the check actions.request makes
        attempt = next_attempt(state) if action == "retry" else None
        self.calls.append((action, (saga_key, attempt, actor, reason)))
        self._audited(actor, f"exceptions.{action}", saga_key, "requested")
        return {"requested": f"exception-{action}-requested", "attempt": attempt, "offset": 1}

    async def replay_matching(
        self, topic: str | None, error_class: str | None, actor: str, *, dry_run: bool
    ) -> dict[str, Any]:
        self.calls.append(("replay_matching", (topic, error_class, dry_run)))
        recent = (await self.dlq_summary())["recent"]
        records = [
            d
            for d in recent
            if topic in (None, d["topic"]) and error_class in (None, d["error_class"])
        ]
        return {
            "replay_id": "replay-test",
            "status": "dry-run" if dry_run else "done",
            "matched": len(records),
            "replayed": 0 if dry_run else len(records),
            "records": records,
        }

    async def commands_of(self, saga_key: str) -> list[CommandSeen]:
        if self.commands_fail:
            raise KafkaConnectionError("down")
        return [c for c in self.commands if c.idempotency_key.startswith(f"{saga_key}:")]

    async def exception_notes(self) -> dict[str, list[dict[str, Any]]]:
        return notes_by_key(self.notes, NOTE_ACTION)

    async def audit(self, record: AuditRecord) -> None:
        self.notes.append(record)
        self._audited(record.by, record.action, record.target, record.outcome)

    def _audited(self, actor: str, action: str, target: str, outcome: str) -> None:
        self.audits.append({"actor": actor, "action": action, "target": target, "outcome": outcome})

    async def close(self) -> None:
        return None


def make_app(
    ops: FakeOperations | None = None,
    *,
    ready: bool = True,
    states: StateMap | None = None,
    authority: TokenAuthority | None = None,
    clock: datetime = CLOCK_NOW,
) -> Any:
    """The real application over fixed states (`sample_states()` unless given) and fake
    operations."""
    ctx = ApiContext(
        states=FixedStates(sample_states() if states is None else states, ready=ready),
        operations=ops or FakeOperations(),
        authority=authority or TokenAuthority(frozenset({VIEWER}), frozenset({OPERATOR})),
        clock=lambda: clock,
        worker_id="w-test",
        partitions=lambda: [0, 1],
    )
    return create_app(ctx)


def at(dt: datetime) -> str:
    return dt.isoformat()
