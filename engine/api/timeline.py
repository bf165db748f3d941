"""One deal end to end (pure): a timeline across CRM, ERP/PSA and billing of every event, status
change, command (with its idempotency key), parked event and timer, plus the platform ids.

The saga states give events, transitions, timers and parked events; the commands come from
the command topics (`CommandSeen`, read by `engine.api.operations`), since a saga's state does
not keep the commands it sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.api.views import document
from engine.contracts import COMMAND_TARGETS, EVENT_DOMAINS
from engine.saga.model import SagaState

# Where an event or command belongs on the timeline (the engine's own inbox events: "q2c").
SYSTEMS = {"crm": "CRM", "erp": "ERP/PSA", "billing": "billing", "masterdata": "master data"}
# Ids a platform gave the deal's records, as the deal saga keeps them in its data.
PLATFORM_ID_FIELDS = (("erp", "project_id"), ("billing", "schedule_id"))


@dataclass(frozen=True)
class CommandSeen:
    """A command on a command topic, by its header (the payload is not read)."""

    command_type: str
    command_id: str
    idempotency_key: str
    causation_id: str
    issued_at: datetime
    topic: str
    partition: int
    offset: int


def system_of_event(event_type: str) -> str:
    return SYSTEMS.get(EVENT_DOMAINS.get(event_type, ""), "q2c")


def system_of_command(command_type: str) -> str:
    return SYSTEMS.get(COMMAND_TARGETS.get(command_type, ""), "q2c")


def _entries(s: SagaState) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in s.history:
        changed = r.from_state != r.to_state
        out.append(
            {
                "at": r.at.isoformat(),
                "kind": "status" if changed else "event",
                "system": system_of_event(r.event_type),
                "saga_type": s.saga_type,
                "type": r.event_type,
                "id": r.event_id,
                "from_state": r.from_state,
                "to_state": r.to_state,
                "detail": r.note,
            }
        )
    for timer_id, t in s.timers.items():
        out.append(
            {
                "at": t.fire_at.isoformat(),
                "kind": "timer",
                "system": "q2c",
                "saga_type": s.saga_type,
                "type": t.name,
                "id": timer_id,
                "detail": "due",
            }
        )
    for e in s.parked:
        out.append(
            {
                "at": e.occurred_at.isoformat(),
                "kind": "parked",
                "system": system_of_event(e.event_type),
                "saga_type": s.saga_type,
                "type": e.event_type,
                "id": e.event_id,
                "detail": f"waiting in {s.state}",
            }
        )
    return out


def platform_ids(sagas: Iterable[SagaState]) -> list[dict[str, str]]:
    """The ids the platforms gave this deal's records (project, schedule, invoices, payments)."""
    out: list[dict[str, str]] = []
    found = document("invoices")
    for s in sagas:
        for system, name in PLATFORM_ID_FIELDS:
            value = s.data.get(name)
            if value and {"system": SYSTEMS[system], "kind": name, "id": str(value)} not in out:
                out.append({"system": SYSTEMS[system], "kind": name, "id": str(value)})
        if found is not None and s.saga_type == found[0]:
            for inv in found[1](s)["invoices"]:
                out.append({"system": "billing", "kind": "invoice_id", "id": inv["invoice_id"]})
                out += [
                    {"system": "billing", "kind": "payment_id", "id": p} for p in inv["payment_ids"]
                ]
    return out


def timeline(
    saga_key: str, sagas: list[SagaState], commands: list[CommandSeen] | None
) -> dict[str, Any]:
    """The deal's timeline, oldest first; `commands` None means the command topics could not
    be read (the page says so instead of showing a timeline without commands)."""
    entries = [e for s in sagas for e in _entries(s)]
    for c in commands or []:
        entries.append(
            {
                "at": c.issued_at.isoformat(),
                "kind": "command",
                "system": system_of_command(c.command_type),
                "saga_type": None,
                "type": c.command_type,
                "id": c.command_id,
                "idempotency_key": c.idempotency_key,
                "caused_by": c.causation_id,
                "detail": f"{c.topic}[{c.partition}]@{c.offset}",
            }
        )
    # A command sorts right after the event that caused it (the clocks of the two differ by
    # the processing time), then timers; the sort is stable for equal keys.
    caused_at = {e["id"]: e["at"] for e in entries if e["kind"] in ("event", "status")}
    order = {"event": 0, "status": 0, "parked": 1, "command": 2, "timer": 3}
    entries.sort(key=lambda e: (caused_at.get(e.get("caused_by") or "", e["at"]), order[e["kind"]]))
    return {
        "saga_key": saga_key,
        "states": {s.saga_type: s.state for s in sagas},
        "platform_ids": platform_ids(sagas),
        "commands_read": commands is not None,
        "entries": entries,
    }
