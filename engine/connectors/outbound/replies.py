"""The canonical reply events of outbound commands, with deterministic event ids (pure).

The event id derives from the command's idempotency key and the event type, so a command
handled twice (redelivery after a crash) publishes the same event twice and the saga's
dedupe drops the second.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from engine.contracts import (
    BillingScheduleCreated,
    Command,
    CreateBillingSchedule,
    CreateProject,
    Envelope,
    Invoice,
    InvoiceIssued,
    IssueInvoice,
    ProjectCreated,
)

REPLY_NAMESPACE = uuid.UUID("6d1f0c0e-93a4-4f0b-b1a5-2f7b2e5c8a31")


def reply_envelope(
    command: Command,
    event_type: str,
    platform: str,
    source_ids: dict[str, str],
    occurred_at: datetime,
) -> Envelope:
    """The envelope of `command`'s reply, correlated to its saga and caused by it, stamped with
    the time its effect happened on the platform (the connector's clock)."""
    return Envelope(
        event_id=str(uuid.uuid5(REPLY_NAMESPACE, f"{command.header.idempotency_key}:{event_type}")),
        event_type=event_type,
        occurred_at=occurred_at,
        source_system=platform,
        correlation_id=command.header.saga_key,
        causation_id=command.header.command_id,
        schema_version=1,
        source_ids={"command_id": command.header.command_id, **source_ids},
    )


def project_created(
    command: CreateProject, platform: str, project_id: str, occurred_at: datetime
) -> ProjectCreated:
    """project-created carrying the platform's own project id."""
    return ProjectCreated(
        envelope=reply_envelope(
            command, "project-created", platform, {"project_id": project_id}, occurred_at
        ),
        deal_id=command.deal_id,
        project_id=project_id,
    )


def billing_schedule_created(
    command: CreateBillingSchedule, platform: str, schedule_id: str, occurred_at: datetime
) -> BillingScheduleCreated:
    """billing-schedule-created carrying the platform's id for the schedule."""
    return BillingScheduleCreated(
        envelope=reply_envelope(
            command,
            "billing-schedule-created",
            platform,
            {"schedule_id": schedule_id},
            occurred_at,
        ),
        project_id=command.project_id,
        schedule_id=schedule_id,
    )


def invoice_issued(
    command: IssueInvoice, platform: str, invoice_id: str, due_date: date, occurred_at: datetime
) -> InvoiceIssued:
    """invoice-issued carrying the billing platform's invoice id."""
    return InvoiceIssued(
        envelope=reply_envelope(
            command, "invoice-issued", platform, {"invoice_id": invoice_id}, occurred_at
        ),
        invoice=Invoice(
            invoice_id=invoice_id,
            invoice_reference=command.invoice_reference,
            project_id=command.project_id,
            lines=command.lines,
            total=command.total,
            due_date=due_date,
        ),
    )
