"""Failure classification and sanitised messages (pure)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from engine.adapters.errors import (
    Disposition,
    PermanentError,
    TransientError,
    classify,
)
from engine.adapters.policy import RetryPolicy, Tier, TierTopics
from engine.codec import DecodeError
from engine.dlq.headers import safe_message


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (TransientError("503"), Disposition.RETRY),
        (TimeoutError(), Disposition.RETRY),
        (TimeoutError(), Disposition.RETRY),
        (ConnectionResetError(), Disposition.RETRY),
        (PermanentError("422"), Disposition.DEAD_LETTER),
        (DecodeError("t", 0, 1, "garbage"), Disposition.DEAD_LETTER),
        (KeyError("x"), Disposition.DEAD_LETTER),  # a bug: retrying only delays the dead letter
        (ValueError("x"), Disposition.DEAD_LETTER),
    ],
)
def test_classify(exc: BaseException, expected: Disposition) -> None:
    assert classify(exc) is expected


class _M(BaseModel):
    n: int


def test_bug_messages_are_withheld_because_they_may_quote_payloads() -> None:
    try:
        _M(n="card 4111-1111-1111-1111")  # type: ignore[arg-type]
    except ValidationError as exc:
        message = safe_message(exc)
    assert "4111" not in message and "ValidationError" in message
    assert "4111" not in safe_message(KeyError("4111-1111"))
    assert safe_message(TransientError("ERP answered 503")) == "ERP answered 503"


def test_policy_validation_and_tier_topics() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(initial_backoff_s=2, max_backoff_s=1)
    policy = RetryPolicy(tiers=(Tier("retry-1m", 1), Tier("retry-10m", 2)))
    topics = TierTopics.of("p.q2c.commands.erp", policy)
    assert topics.all == [
        "p.q2c.commands.erp",
        "p.q2c.commands.erp.retry-1m",
        "p.q2c.commands.erp.retry-10m",
    ]
    assert [topics.tier_of(t) for t in topics.all] == [0, 1, 2]
    assert policy.last_tier == 2 and policy.delay_of(2) == 2
    with pytest.raises(ValueError):
        topics.tier_of("p.q2c.commands.crm")
