"""The ACL planner (pure): least privilege derived from the catalog, idempotent plans."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.security.acls import (
    AclBinding,
    AclContext,
    Operation,
    PatternType,
    ResourceType,
    desired_acls,
    plan_acls,
)
from engine.security.principals import Principals, PrincipalsError, load_principals
from engine.topics import load_catalog

CTX = AclContext(topic_prefix="p.", group_id="grp", client_id="q2c")
DESIRED = desired_acls(load_catalog(), load_principals(), CTX)
MANAGED = {p.kafka_principal for p in load_principals().principals}


def topics(principal: str, op: Operation) -> set[str]:
    return {
        a.resource.removeprefix("p.")
        for a in DESIRED
        if a.principal == f"User:{principal}"
        and a.resource_type is ResourceType.TOPIC
        and a.operation is op
    }


def of(principal: str, kind: ResourceType) -> set[tuple[str, PatternType, Operation]]:
    return {
        (a.resource, a.pattern, a.operation)
        for a in DESIRED
        if a.principal == f"User:{principal}" and a.resource_type is kind
    }


def test_every_binding_is_an_allow_on_a_named_resource_under_the_prefix() -> None:
    assert DESIRED
    for a in DESIRED:
        assert a.permission.name == "ALLOW" and a.host == "*"
        assert a.resource and a.resource != "*"
        if a.resource_type is ResourceType.TOPIC:
            assert a.resource.startswith("p.") and a.pattern is PatternType.LITERAL
    assert not any(a.resource_type is ResourceType.CLUSTER for a in DESIRED)


def test_an_adapter_reads_only_its_own_commands_and_writes_only_its_topics() -> None:
    assert topics("q2c-billing", Operation.READ) == {
        "q2c.commands.billing",
        "q2c.commands.billing.retry-1m",
        "q2c.commands.billing.retry-10m",
        "q2c.billing.poll-watermarks",  # its own state, read back on start
        "q2c.billing.poll-replays",  # the poller's dead letters sent back
    }
    assert topics("q2c-billing", Operation.WRITE) == {
        "q2c.billing.events",
        "q2c.billing.poll-watermarks",
        "q2c.billing.poll-replays",
        "q2c.billing.poll-replays.dlq",
        "q2c.commands.billing.retry-1m",
        "q2c.commands.billing.retry-10m",
        "q2c.commands.dlq",
    }
    assert topics("q2c-masterdata", Operation.WRITE) >= {
        "q2c.masterdata.legal-entities",
        "q2c.masterdata.accounts",
    }
    assert of("q2c-billing", ResourceType.GROUP) == {
        ("grp.adapter.billing", PatternType.LITERAL, Operation.READ),
        ("grp.sim-billing", PatternType.LITERAL, Operation.READ),
    }
    assert of("q2c-billing", ResourceType.TRANSACTIONAL_ID) == set()


@pytest.mark.parametrize("platform", ["crm", "erp", "billing", "masterdata"])
def test_no_adapter_writes_a_command_topic_or_the_inbox(platform: str) -> None:
    written = topics(f"q2c-{platform}", Operation.WRITE)
    assert not written & {f"q2c.commands.{t}" for t in ("crm", "erp", "billing", "masterdata")}
    assert "q2c.saga.inbox" not in written
    others = {"crm", "erp", "billing", "masterdata"} - {platform}
    assert not any(
        t.startswith(f"q2c.commands.{o}")
        for o in others
        for t in topics(f"q2c-{platform}", Operation.READ)
    )


def test_analytics_reads_the_two_streams_and_writes_nothing() -> None:
    assert topics("q2c-analytics", Operation.READ) == {"q2c.saga.status", "q2c.analytics.events"}
    assert not any(
        a.principal == "User:q2c-analytics" and a.operation is not Operation.READ for a in DESIRED
    )


NATIVE = {
    f"q2c.native.{p}" for p in ("salesforce", "dynamics", "netsuite", "sap", "oracle", "stripe")
}


def test_the_gateway_only_writes_the_native_topics() -> None:
    gateway = {a for a in DESIRED if a.principal == "User:q2c-gateway"}
    assert topics("q2c-gateway", Operation.WRITE) == NATIVE
    assert {a.operation for a in gateway} == {Operation.WRITE}
    assert {a.resource_type for a in gateway} == {ResourceType.TOPIC}


def test_the_translator_reads_native_and_writes_only_canonical_events_and_native_dlqs() -> None:
    assert topics("q2c-translator", Operation.READ) == NATIVE
    written = topics("q2c-translator", Operation.WRITE)
    assert written == {f"q2c.{d}.events" for d in ("crm", "erp", "billing", "masterdata")} | {
        f"{n}.dlq" for n in NATIVE
    }
    assert of("q2c-translator", ResourceType.GROUP) == {
        ("grp-translator", PatternType.LITERAL, Operation.READ)
    }
    assert {r for r, _, _ in of("q2c-translator", ResourceType.TRANSACTIONAL_ID)} == {
        "q2c-translate-"
    }


def test_the_worker_owns_its_transactional_prefix_alone() -> None:
    txn = {
        (a.principal, a.resource, a.pattern)
        for a in DESIRED
        if a.resource_type is ResourceType.TRANSACTIONAL_ID
    }
    assert ("User:q2c-worker", "grp.task.", PatternType.PREFIXED) in txn
    # No other principal has a transactional prefix that covers the worker's ids.
    assert not any(p != "User:q2c-worker" and "grp.task.0".startswith(r) for p, r, _ in txn)
    assert ("User:q2c-ops", "q2c-replay-", PatternType.PREFIXED) in txn


def test_the_worker_writes_what_the_engine_owns_but_no_adapter_tier() -> None:
    written = topics("q2c-worker", Operation.WRITE)
    assert {
        "q2c.commands.erp",
        "q2c.saga.status",
        "q2c.analytics.events",
        "q2c.saga.state",
    } <= written
    assert {"q2c.saga.correlation", "q2c.saga.inbox", "q2c.crm.events.dlq"} <= written
    # Only the tiers of the validator it hosts (the master-data commands), no adapter's.
    tiers = {t for t in written if ".retry-" in t and t.startswith("q2c.commands.")}
    assert tiers == {"q2c.commands.masterdata.retry-1m", "q2c.commands.masterdata.retry-10m"}
    assert tiers <= topics("q2c-worker", Operation.READ)
    assert "q2c.crm.events" not in written  # it reads the platforms' events, never forges them


def test_a_plan_against_its_own_result_is_empty() -> None:
    first = plan_acls(DESIRED, [], MANAGED)
    assert set(first.grants) == DESIRED and not first.revokes
    assert plan_acls(DESIRED, DESIRED, MANAGED).is_empty


FOREIGN = AclBinding(
    "User:someone-else", ResourceType.TOPIC, "*", PatternType.LITERAL, Operation.ALL
)
WIDE = AclBinding("User:q2c-crm", ResourceType.TOPIC, "*", PatternType.LITERAL, Operation.ALL)


def test_extra_access_of_a_managed_principal_is_revoked_and_others_are_left_alone() -> None:
    plan = plan_acls(DESIRED, [*DESIRED, WIDE, FOREIGN], MANAGED)
    assert plan.grants == () and plan.revokes == (WIDE,)
    assert plan.unmanaged == (FOREIGN,)


@given(
    held=st.sets(st.sampled_from(sorted(DESIRED | {WIDE, FOREIGN})), max_size=40),
)
def test_applying_any_plan_reaches_the_desired_set(held: set[AclBinding]) -> None:
    plan = plan_acls(DESIRED, held, MANAGED)
    after = (held | set(plan.grants)) - set(plan.revokes)
    assert {a for a in after if a.principal in MANAGED} == DESIRED
    assert FOREIGN in after if FOREIGN in held else FOREIGN not in after
    assert plan_acls(DESIRED, after, MANAGED).is_empty


def test_principals_file_rejects_an_adapter_without_an_owner_and_the_launcher_user() -> None:
    with pytest.raises(ValueError, match="platform and owner"):
        Principals.model_validate({"principals": [{"name": "x", "role": "adapter"}]})
    with pytest.raises(ValueError, match="super user"):
        Principals.model_validate({"principals": [{"name": "admin", "role": "worker"}]})
    with pytest.raises(PrincipalsError, match="cannot read"):
        load_principals("/nonexistent/principals.yaml")


def test_another_environment_on_the_same_cluster_is_not_revoked() -> None:
    other = desired_acls(load_catalog(), load_principals(), AclContext("q.", "other", "q2c"))
    plan = plan_acls(DESIRED, DESIRED | other, MANAGED, CTX)
    assert plan.is_empty
    assert set(plan.unmanaged) == other - DESIRED
    # Without the scope, this environment's apply would strip the other one's access.
    assert plan_acls(DESIRED, DESIRED | other, MANAGED).revokes
