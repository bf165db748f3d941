"""Operator actions on business exceptions (I/O): publish retry/cancel requests, audited.

Both go to the saga inbox keyed by the deal id (via the Publisher). A retry carries the saga's
previous attempt + 1, so a retry sent twice is applied once (the saga's `newer_attempt` guard).
The CLI (`q2c exceptions`) and the HTTP API (`POST /api/v1/exceptions/{key}/retry|cancel`) both
call `request`; only `by` and `via` of the audit record differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from engine.contracts import Event
from engine.exceptions_queue.queue import ExceptionItem, StoreKey, exception_items
from engine.kafka.connection import KafkaConnection
from engine.ops.audit import AuditAction, AuditRecord, Via, new_action_id, now_utc
from engine.ops.store import write_audit
from engine.publisher import Publisher
from engine.runtime.inspect import read_all_states
from engine.runtime.names import TopicNames
from engine.saga.model import SagaState
from engine.sagas import exception_policies
from engine.settings import Settings

States = Mapping[StoreKey, SagaState]
ExceptionAction = Literal["retry", "cancel"]
AUDITED_AS: dict[ExceptionAction, AuditAction] = {
    "retry": "exceptions.retry",
    "cancel": "exceptions.cancel",
}


def _saga_types() -> str:
    return " or ".join(exception_policies())


class NotInException(RuntimeError):
    """The saga does not exist (`state` None) or is not in the exception state."""

    def __init__(self, key: str, state: SagaState | None) -> None:
        if state is None:
            text = f"no {_saga_types()} saga {key!r}"
        else:
            policy = exception_policies()[state.saga_type]
            text = f"{state.saga_type} {key!r} is {state.state!r}, not {policy.state!r}"
        super().__init__(text)
        self.key = key
        self.state = None if state is None else state.state


@dataclass(frozen=True)
class ActionResult:
    saga_key: str
    event_id: str
    attempt: int | None
    action_id: str
    event_type: str = ""
    offset: int = -1  # of the request on the saga inbox


async def read_states(settings: Settings, connection: KafkaConnection | None = None) -> States:
    """The latest state of every saga (the state changelog: complete, any worker's);
    `connection`: the process's (built from `settings` when not given)."""
    connection = connection or KafkaConnection.from_settings(settings)
    return await read_all_states(connection.options(), TopicNames(settings.topic_prefix).state)


async def list_exceptions(settings: Settings) -> list[ExceptionItem]:
    return exception_items(await read_states(settings), now_utc())


def in_exception(states: States, key: str) -> SagaState:
    """The saga `key` of a type with exception actions when it waits in its exception state,
    else NotInException."""
    found = None
    for saga_type, policy in exception_policies().items():
        state = states.get((saga_type, key))
        if state is not None and state.state == policy.state:
            return state
        found = found or state
    raise NotInException(key, found)


def request_event(
    action: ExceptionAction, state: SagaState, *, by: str, reason: str
) -> tuple[Event, int | None]:
    """The inbox event of `action` (retry | cancel) for `state`, and the retry's attempt, as
    the saga type's exception policy builds them."""
    policy = exception_policies()[state.saga_type]
    if action == "retry":
        return policy.retry(state, by, reason), policy.next_attempt(state)
    if action == "cancel":
        return policy.cancel(state, by, reason), None
    raise ValueError(f"unknown exception action {action!r} (retry | cancel)")


async def request(
    settings: Settings,
    action: ExceptionAction,
    key: str,
    *,
    by: str,
    reason: str,
    via: Via = "cli",
    states: States | None = None,
    connection: KafkaConnection | None = None,
) -> ActionResult:
    """Ask saga `key` to `retry` (validate again, after the data was fixed) or `cancel`.

    Refused with NotInException unless the saga waits in `exception`. `states` is a changelog
    read the caller already made; without it the changelog is read. The request is published
    to the saga inbox, then audited as `exceptions.<action>` with outcome `requested`.
    `connection`: the process's (built from `settings` when not given).
    """
    connection = connection or KafkaConnection.from_settings(settings)
    if states is None:
        states = await read_states(settings, connection)
    state = in_exception(states, key)
    event, attempt = request_event(action, state, by=by, reason=reason)
    event_id = event.envelope.event_id
    async with Publisher(settings, connection=connection) as pub:
        sent = await pub.publish(event)
    action_id = new_action_id(f"exc-{action}")
    details = {"attempt": attempt} if attempt is not None else {}
    audit = AuditRecord(
        action=AUDITED_AS[action],
        action_id=action_id,
        by=by,
        at=now_utc(),
        target=key,
        count=1,
        details={**details, "event_id": event_id, "reason": reason},
        outcome="requested",
        via=via,
    )
    await write_audit(connection.options(), settings.topic_prefix, audit)
    return ActionResult(key, event_id, attempt, action_id, event.envelope.event_type, sent.offset)
