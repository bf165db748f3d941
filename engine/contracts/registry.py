"""Lookup tables over the contract models: type -> model, domain, topic, target, business key."""

from __future__ import annotations

from engine.contracts import commands, events
from engine.contracts.base import Record
from engine.contracts.commands import Command
from engine.contracts.envelope import CommandHeader, Envelope
from engine.contracts.events import Event
from engine.contracts.shared import (
    Account,
    Contract,
    Expense,
    Invoice,
    InvoiceLine,
    Milestone,
    Money,
    Payment,
    Project,
    Rate,
    RateCard,
    Resource,
    TimeEntry,
)
from engine.contracts.status import SagaStatusChanged

_EVENT_CLASSES: tuple[type[Event], ...] = (
    events.ClosedWon,
    events.DealCancelled,
    events.AccountValidated,
    events.AccountValidationFailed,
    events.ProjectCreated,
    events.ProjectActivated,
    events.MilestoneCompleted,
    events.TimeEntryApproved,
    events.ExpenseApproved,
    events.BillingScheduleCreated,
    events.InvoiceIssued,
    events.PaymentReceived,
    events.PaymentFailed,
    events.ExceptionRetryRequested,
    events.ExceptionCancelRequested,
    events.LegalEntityUpserted,
    events.AccountMasterUpserted,
    events.ContractAmended,
)
_COMMAND_CLASSES: tuple[type[Command], ...] = (
    commands.ValidateAccount,
    commands.CreateProject,
    commands.CreateBillingSchedule,
    commands.IssueInvoice,
    commands.UpdateCrmStatus,
    commands.RecognizeRevenue,
    commands.CloseProject,
    commands.CancelBillingSchedule,
    commands.Escalate,
    commands.SendDunning,
    commands.UpdateProjectBudget,
    commands.UpdateBillingSchedule,
)

EVENT_MODELS: dict[str, type[Event]] = {cls.EVENT_TYPE: cls for cls in _EVENT_CLASSES}
"""event_type (kebab-case) -> model class, master-data records included."""

COMMAND_MODELS: dict[str, type[Command]] = {cls.COMMAND_TYPE: cls for cls in _COMMAND_CLASSES}
"""command_type (kebab-case) -> model class."""

EVENT_DOMAINS: dict[str, str] = {t: cls.DOMAIN for t, cls in EVENT_MODELS.items()}
"""event_type -> domain (crm, erp, billing, masterdata)."""

COMMAND_TARGETS: dict[str, str] = {t: cls.TARGET for t, cls in COMMAND_MODELS.items()}
"""command_type -> target system (crm, erp, billing, masterdata)."""

SHARED_MODELS: tuple[type[Record], ...] = (
    Money,
    Account,
    Milestone,
    Rate,
    RateCard,
    Contract,
    Project,
    Resource,
    TimeEntry,
    Expense,
    InvoiceLine,
    Invoice,
    Payment,
    Envelope,
    CommandHeader,
)

_MESSAGE_CLASSES: tuple[type[Record], ...] = (*_EVENT_CLASSES, *_COMMAND_CLASSES, SagaStatusChanged)
MESSAGE_MODELS: dict[str, type[Record]] = {cls.AVRO_NAME: cls for cls in _MESSAGE_CLASSES}
"""Avro full name -> model of every top-level message (what goes into a Kafka record value)."""

ALL_MODELS: dict[str, type[Record]] = {
    **{cls.AVRO_NAME: cls for cls in SHARED_MODELS},
    **MESSAGE_MODELS,
}
"""Avro full name -> model of every record type, shared ones included."""


def event_topic(event_type: str, prefix: str = "") -> str:
    """The topic an event type is published to: `q2c.<domain>.events`, or a master-data topic."""
    cls = EVENT_MODELS[event_type]
    return prefix + (cls.TOPIC or f"q2c.{cls.DOMAIN}.events")


def command_topic(command_type: str, prefix: str = "") -> str:
    """The topic of a command type: one per target system, `q2c.commands.<target>`."""
    return f"{prefix}q2c.commands.{COMMAND_TARGETS[command_type]}"


def message_type(model: Record) -> str:
    """The kebab-case type of a message: event_type, command_type or `saga-status-changed`."""
    if isinstance(model, Event):
        return model.EVENT_TYPE
    if isinstance(model, Command):
        return model.COMMAND_TYPE
    if isinstance(model, SagaStatusChanged):
        return model.MESSAGE_TYPE
    raise TypeError(f"{type(model).__name__} is not a top-level message")


def topic_for(model: Record, prefix: str = "") -> str:
    """The topic any top-level message belongs on, with `prefix` (Settings.topic_prefix)."""
    if isinstance(model, Event):
        return event_topic(model.EVENT_TYPE, prefix)
    if isinstance(model, Command):
        return command_topic(model.COMMAND_TYPE, prefix)
    if isinstance(model, SagaStatusChanged):
        return prefix + model.TOPIC
    raise TypeError(f"{type(model).__name__} is not a top-level message")


def business_key(model: Record) -> str:
    """The Kafka record key: the event's business key, a command's or status's saga key."""
    if isinstance(model, Event):
        value: object = model
        for part in model.KEY_FIELD.split("."):
            value = getattr(value, part)
        return str(value)
    if isinstance(model, Command):
        return model.header.saga_key
    if isinstance(model, SagaStatusChanged):
        return model.saga_key
    raise TypeError(f"{type(model).__name__} is not a top-level message")


def record_key(model: Record) -> str:
    """The Kafka record key a message is published with.

    A domain event whose adapter knew the saga key (`envelope.correlation_id`) is keyed by it,
    so it lands on its saga's partition and needs no repartitioning; otherwise, and always on
    the compacted master-data topics, the business key.
    """
    if isinstance(model, Event) and model.TOPIC is None and model.envelope.correlation_id:
        return model.envelope.correlation_id
    return business_key(model)
