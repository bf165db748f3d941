"""Operator actions on business exceptions (I/O): publish retry/cancel requests, audited.

Both go to the saga inbox keyed by the deal id (via the Publisher). A retry carries the saga's
previous attempt + 1, so a retry sent twice is applied once (the saga's `newer_attempt` guard).
The CLI (`q2c exceptions`) and the HTTP API (`POST /api/v1/exceptions/{key}/retry|cancel`) both
call `request`; only `by` and `via` of the audit record differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.contracts import Envelope, ExceptionCancelRequested, ExceptionRetryRequested
from engine.contracts import Event as EventModel
from engine.exceptions_queue.queue import (
    EXCEPTION_STATE,
    ExceptionItem,
    StoreKey,
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
States = Mapping[StoreKey, SagaState]


class NotInException(RuntimeError):
    """The saga does not exist (`state` None) or is not in the exception state."""

    def __init__(self, key: str, state: str | None) -> None:
        if state is None:
            text = f"no {SAGA_TYPE} saga {key!r}"
        else:
            text = f"{SAGA_TYPE} {key!r} is {state!r}, not {EXCEPTION_STATE!r}"
        super().__init__(text)
        self.key = key
        self.state = state


@dataclass(frozen=True)
class ActionResult:
    saga_key: str
    event_id: str
    attempt: int | None
    action_id: str
    event_type: str = ""
    offset: int = -1  # of the request on the saga inbox


async def read_states(settings: Settings) -> States:
    """The latest state of every saga (the state changelog: complete, any worker's)."""
    return await read_all_states(client_options(settings), TopicNames(settings.topic_prefix).state)


async def list_exceptions(settings: Settings) -> list[ExceptionItem]:
    return exception_items(await read_states(settings), now_utc())


def in_exception(states: States, key: str) -> SagaState:
    """The quote-to-cash saga `key` when it waits in `exception`, else NotInException."""
    state = states.get((SAGA_TYPE, key))
    if state is None or state.state != EXCEPTION_STATE:
        raise NotInException(key, None if state is None else state.state)
    return state


def _envelope(event_type: str, key: str) -> Envelope:
    return Envelope.new(event_type, SOURCE_SYSTEM, correlation_id=key)


def request_event(
    action: str, state: SagaState, *, by: str, reason: str
) -> tuple[EventModel, int | None]:
    """The inbox event of `action` (retry | cancel) for `state`, and the retry's attempt.

    A retry carries the saga's attempt + 1; a cancel makes the saga compensate and end
    `cancelled`.
    """
    key = state.saga_key
    if action == "retry":
        attempt = next_attempt(state)
        retry = ExceptionRetryRequested(
            envelope=_envelope(ExceptionRetryRequested.EVENT_TYPE, key),
            deal_id=key,
            attempt=attempt,
            requested_by=by,
            reason=reason,
        )
        return retry, attempt
    if action == "cancel":
        cancel = ExceptionCancelRequested(
            envelope=_envelope(ExceptionCancelRequested.EVENT_TYPE, key),
            deal_id=key,
            requested_by=by,
            reason=reason,
        )
        return cancel, None
    raise ValueError(f"unknown exception action {action!r} (retry | cancel)")


async def request(
    settings: Settings,
    action: str,
    key: str,
    *,
    by: str,
    reason: str,
    via: str = "cli",
    states: States | None = None,
) -> ActionResult:
    """Ask saga `key` to `retry` (validate again, after the data was fixed) or `cancel`.

    Refused with NotInException unless the saga waits in `exception`. `states` is a changelog
    read the caller already made; without it the changelog is read. The request is published
    to the saga inbox, then audited as `exceptions.<action>` with outcome `requested`.
    """
    state = in_exception(states if states is not None else await read_states(settings), key)
    event, attempt = request_event(action, state, by=by, reason=reason)
    event_id = event.envelope.event_id
    async with Publisher(settings) as pub:
        sent = await pub.publish(event)
    action_id = new_action_id(f"exc-{action}")
    details = {"attempt": attempt} if attempt is not None else {}
    audit = AuditRecord(
        action=f"exceptions.{action}",
        action_id=action_id,
        by=by,
        at=now_utc(),
        target=key,
        count=1,
        details={**details, "event_id": event_id, "reason": reason},
        outcome="requested",
        via=via,
    )
    await write_audit(client_options(settings), settings.topic_prefix, audit)
    return ActionResult(key, event_id, attempt, action_id, event.envelope.event_type, sent.offset)
