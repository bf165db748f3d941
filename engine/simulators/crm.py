"""The simulated CRM: records deal statuses and escalations the engine sends it (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.contracts import Command, Escalate, UpdateCrmStatus
from engine.simulators.behaviour import Reaction

SOURCE_SYSTEM = "salesforce"


@dataclass(frozen=True)
class Escalation:
    deal_id: str
    kind: str
    detail: str
    at: datetime


class CrmBehaviour:
    """Consumes `q2c.commands.crm`: update-crm-status and escalate. Publishes nothing back."""

    target = "crm"

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.status_history: dict[str, list[str]] = {}
        self.escalations: list[Escalation] = []
        self.ignored = 0

    def handle(self, command: Command, now: datetime) -> Reaction:
        if isinstance(command, UpdateCrmStatus):
            self.status[command.deal_id] = command.status
            self.status_history.setdefault(command.deal_id, []).append(command.status)
        elif isinstance(command, Escalate):
            self.escalations.append(Escalation(command.deal_id, command.kind, command.detail, now))
        else:
            self.ignored += 1
        return Reaction()
