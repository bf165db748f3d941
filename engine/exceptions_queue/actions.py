"""Operator actions on business exceptions (I/O): publish retry/cancel requests, audited.

Both go to the saga inbox keyed by the deal id (via the Publisher). A retry carries the saga's
previous attempt + 1, so a retry sent twice is applied once (the saga's `newer_attempt` guard).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.contracts import Envelope, ExceptionCancelRequested, ExceptionRetryRequested
from engine.contracts import Event as EventModel
from engine.exceptions_queue.queue import (
    EXCEPTION_STATE,
    ExceptionItem,
    exception_items,
    next_attempt,
)
from engine.kafka.connection import client_options
from engine.ops.audit import AuditRecord, new_action_id, now_utc
from engine.ops.store import write_audit
from engine.publisher import Publisher
from engine.runtime.inspect import read_all_states
from engine.runtime.names import TopicNames
from engine.saga.model import SagaState
from engine.settings import Settings

SAGA_TYPE = "quote-to-cash"
SOURCE_SYSTEM = "q2c-ops"


class NotInException(RuntimeError):
    """The saga does not exist or is not in the exception state."""


@dataclass(frozen=True)
class ActionResult:
    saga_key: str
    event_id: str
    attempt: int | None
    action_id: str


async def list_exceptions(settings: Settings) -> list[ExceptionItem]:
    states = await read_all_states(
        client_options(settings), TopicNames(settings.topic_prefix).state
    )
    return exception_items(states, now_utc())


async def _state_of(settings: Settings, key: str) -> SagaState:
    states = await read_all_states(
        client_options(settings), TopicNames(settings.topic_prefix).state
    )
    state = states.get((SAGA_TYPE, key))
    if state is None:
        raise NotInException(f"no {SAGA_TYPE} saga {key!r}")
    if state.state != EXCEPTION_STATE:
        raise NotInException(f"{SAGA_TYPE} {key!r} is {state.state!r}, not {EXCEPTION_STATE!r}")
    return state


async def _send(settings: Settings, event: EventModel, audit: AuditRecord) -> None:
    async with Publisher(settings) as pub:
        await pub.publish(event)
    await write_audit(client_options(settings), settings.topic_prefix, audit)


def _envelope(event_type: str, key: str) -> Envelope:
    return Envelope.new(event_type, SOURCE_SYSTEM, correlation_id=key)


async def request_retry(settings: Settings, key: str, *, by: str, reason: str) -> ActionResult:
    """Ask the saga to validate again (after the data was fixed)."""
    state = await _state_of(settings, key)
    attempt = next_attempt(state)
    event = ExceptionRetryRequested(
        envelope=_envelope("exception-retry-requested", key),
        deal_id=key,
        attempt=attempt,
        requested_by=by,
        reason=reason,
    )
    action_id = new_action_id("exc-retry")
    audit = AuditRecord(
        action="exceptions.retry",
        action_id=action_id,
        by=by,
        at=now_utc(),
        target=key,
        count=1,
        details={"attempt": attempt, "event_id": event.envelope.event_id, "reason": reason},
    )
    await _send(settings, event, audit)
    return ActionResult(key, event.envelope.event_id, attempt, action_id)


async def request_cancel(settings: Settings, key: str, *, by: str, reason: str) -> ActionResult:
    """Give up on the saga: it compensates and ends `cancelled`."""
    await _state_of(settings, key)
    event = ExceptionCancelRequested(
        envelope=_envelope("exception-cancel-requested", key),
        deal_id=key,
        requested_by=by,
        reason=reason,
    )
    action_id = new_action_id("exc-cancel")
    audit = AuditRecord(
        action="exceptions.cancel",
        action_id=action_id,
        by=by,
        at=now_utc(),
        target=key,
        count=1,
        details={"event_id": event.envelope.event_id, "reason": reason},
    )
    await _send(settings, event, audit)
    return ActionResult(key, event.envelope.event_id, None, action_id)
