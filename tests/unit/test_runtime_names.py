"""Every topic the runtime reads or writes is declared in the topic catalog."""

from __future__ import annotations

from engine.runtime.names import DOMAINS, TARGETS, TopicNames
from engine.topics import load_catalog


def test_runtime_topics_are_in_the_catalog() -> None:
    declared = set(load_catalog().names)
    names = TopicNames()
    used = {
        *names.inbound,
        names.inbox,
        names.state,
        names.correlation,
        names.status,
        names.analytics,
        names.legal_entities,
        names.accounts,
        names.audit,
        *(names.commands(t) for t in TARGETS),
        *(names.dlq(t) for t in [*names.inbound, names.inbox]),
        *(names.dlq(names.commands(t)) for t in TARGETS),
    }
    assert used <= declared, used - declared
    assert len(DOMAINS) == 4


def test_prefix_applies_to_every_name() -> None:
    names = TopicNames("t1.")
    assert names.inbox == "t1.q2c.saga.inbox"
    assert names.dlq(names.commands("erp")) == "t1.q2c.commands.dlq"
    assert names.dlq(names.events("crm")) == "t1.q2c.crm.events.dlq"
