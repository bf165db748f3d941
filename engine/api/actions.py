"""Operator requests on a saga in `exception`, as events to the saga inbox.

Shared by the API and command-line tooling: both publish the same contract events through
`engine.publisher.Publisher`, and the saga decides (a retry for an attempt already made, or a
request for a saga no longer in `exception`, changes nothing).
"""

from __future__ import annotations

from engine.contracts import Envelope
from engine.contracts.events import ExceptionCancelRequested, ExceptionRetryRequested
from engine.kafka.records import Delivered
from engine.publisher import Publisher

SOURCE_SYSTEM = "q2c-ops"


def retry_event(
    saga_key: str, attempt: int, requested_by: str, reason: str
) -> ExceptionRetryRequested:
    """exception-retry-requested for `attempt` (the saga's current attempt + 1)."""
    return ExceptionRetryRequested(
        envelope=Envelope.new(
            ExceptionRetryRequested.EVENT_TYPE, SOURCE_SYSTEM, correlation_id=saga_key
        ),
        deal_id=saga_key,
        attempt=attempt,
        requested_by=requested_by,
        reason=reason,
    )


def cancel_event(saga_key: str, requested_by: str, reason: str) -> ExceptionCancelRequested:
    """exception-cancel-requested: the saga compensates by stage and ends `cancelled`."""
    return ExceptionCancelRequested(
        envelope=Envelope.new(
            ExceptionCancelRequested.EVENT_TYPE, SOURCE_SYSTEM, correlation_id=saga_key
        ),
        deal_id=saga_key,
        requested_by=requested_by,
        reason=reason,
    )


async def request_retry(
    publisher: Publisher, saga_key: str, attempt: int, requested_by: str, reason: str
) -> Delivered:
    """Publish a retry request for the saga (keyed by its key, to the saga inbox)."""
    return await publisher.publish(retry_event(saga_key, attempt, requested_by, reason))


async def request_cancel(
    publisher: Publisher, saga_key: str, requested_by: str, reason: str
) -> Delivered:
    """Publish a cancel request for the saga."""
    return await publisher.publish(cancel_event(saga_key, requested_by, reason))
