"""Least-privilege ACLs derived from the topic catalog and the principals file (pure, no I/O).

`desired_acls` says what each principal may do; `plan_acls` compares that with what the
cluster holds and returns grants and revocations. ACLs of principals the file does not list
are reported and never touched, so the plan cannot widen or narrow anyone it does not manage.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from engine.runtime.names import DOMAINS
from engine.security.principals import Principals, PrincipalSpec, Role
from engine.topics.models import Catalog

ENGINE_OWNER = "q2c-engine"
OPS_OWNER = "q2c-ops"
GATEWAY_OWNER = "q2c-gateway"
STATUS_TOPICS = ("q2c.saga.status", "q2c.analytics.events")


class ResourceType(IntEnum):
    """Kafka's AclResourceType codes."""

    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5


class Operation(IntEnum):
    """Kafka's AclOperation codes (READ and WRITE imply DESCRIBE)."""

    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12


class PatternType(IntEnum):
    LITERAL = 3
    PREFIXED = 4


class Permission(IntEnum):
    DENY = 2
    ALLOW = 3


@dataclass(frozen=True, order=True)
class AclBinding:
    """One ACL as the broker stores it."""

    principal: str
    resource_type: ResourceType
    resource: str
    pattern: PatternType
    operation: Operation
    permission: Permission = Permission.ALLOW
    host: str = "*"

    def describe(self) -> str:
        """`ALLOW User:q2c-crm WRITE topic q2c.crm.events` (PREFIXED resources end in `*`)."""
        star = "*" if self.pattern is PatternType.PREFIXED else ""
        kind = self.resource_type.name.lower().replace("_", "-")
        host = "" if self.host == "*" else f" from {self.host}"
        return (
            f"{self.permission.name} {self.principal} {self.operation.name} "
            f"{kind} {self.resource}{star}{host}"
        )

    def to_dict(self) -> dict[str, str]:
        return {
            "principal": self.principal,
            "permission": self.permission.name,
            "operation": self.operation.name,
            "resource_type": self.resource_type.name,
            "resource": self.resource,
            "pattern": self.pattern.name,
            "host": self.host,
        }


@dataclass(frozen=True)
class AclContext:
    """The deployment's names: topic prefix, the worker's group and the tools' client id."""

    topic_prefix: str = ""
    group_id: str = "q2c-engine"
    client_id: str = "q2c"

    def covers(self, acl: AclBinding) -> bool:
        """Whether `acl` belongs to this deployment: its topics (under the prefix), groups and
        transactional ids. Environments sharing a cluster do not revoke each other's ACLs."""
        if acl.resource_type is ResourceType.TOPIC:
            return acl.resource.startswith(self.topic_prefix)
        if acl.resource_type in (ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID):
            mine = (self.group_id, f"{self.client_id}-", acl.principal.removeprefix("User:"))
            return acl.resource.startswith(mine)
        return True


@dataclass(frozen=True)
class AclPlan:
    """What `apply` would change: grants widen access, revokes narrow it."""

    grants: tuple[AclBinding, ...]
    revokes: tuple[AclBinding, ...]
    unmanaged: tuple[AclBinding, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.grants and not self.revokes

    def to_dict(self) -> dict[str, Any]:
        return {
            "grants": [a.to_dict() for a in self.grants],
            "revokes": [a.to_dict() for a in self.revokes],
            "unmanaged": [a.to_dict() for a in self.unmanaged],
        }


class _Rules:
    """Collects one principal's bindings, resolving logical topic names under the prefix."""

    def __init__(self, principal: PrincipalSpec, ctx: AclContext) -> None:
        self.principal = principal.kafka_principal
        self.ctx = ctx
        self.out: set[AclBinding] = set()

    def topics(self, op: Operation, names: Iterable[str]) -> None:
        for logical in names:
            self.out.add(
                AclBinding(
                    self.principal,
                    ResourceType.TOPIC,
                    self.ctx.topic_prefix + logical,
                    PatternType.LITERAL,
                    op,
                )
            )

    def group(self, name: str, pattern: PatternType = PatternType.LITERAL) -> None:
        self.out.add(AclBinding(self.principal, ResourceType.GROUP, name, pattern, Operation.READ))

    def transactional_prefix(self, prefix: str) -> None:
        for op in (Operation.WRITE, Operation.DESCRIBE):
            self.out.add(
                AclBinding(
                    self.principal, ResourceType.TRANSACTIONAL_ID, prefix, PatternType.PREFIXED, op
                )
            )


def _owned(catalog: Catalog, owner: str) -> list[str]:
    return [t.name for t in catalog.topics if t.owner == owner]


def _compacted(catalog: Catalog) -> set[str]:
    return {t.name for t in catalog.topics if "compact" in t.cleanup_policy.value}


def _command_topics(catalog: Catalog, platform: str) -> list[str]:
    """A platform's command topic and its retry tiers (not the shared command DLQ)."""
    base = f"q2c.commands.{platform}"
    return [t.name for t in catalog.topics if t.name == base or t.name.startswith(base + ".")]


def _adapter(rules: _Rules, catalog: Catalog, platform: str, owner: str) -> None:
    commands = _command_topics(catalog, platform)
    rules.topics(Operation.READ, commands)
    # Its own retry tiers (re-queued commands) and the shared command dead letters.
    rules.topics(Operation.WRITE, [c for c in commands if c != f"q2c.commands.{platform}"])
    rules.topics(Operation.WRITE, ["q2c.commands.dlq"])
    rules.topics(Operation.WRITE, _owned(catalog, owner))
    # Its own state (compacted topics its owner writes, e.g. the poller's watermarks) it reads
    # back on start.
    rules.topics(Operation.READ, [n for n in _owned(catalog, owner) if n in _compacted(catalog)])
    rules.group(f"{rules.ctx.group_id}.adapter.{platform}")
    # The platform simulators stand in for adapters in the demo and tests.
    rules.group(f"{rules.ctx.group_id}.sim-{platform}")


def _worker(rules: _Rules, catalog: Catalog) -> None:
    inbound = [f"q2c.{d}.events" for d in DOMAINS]
    rules.topics(Operation.READ, [*inbound, "q2c.saga.inbox", "q2c.saga.state"])
    rules.topics(Operation.READ, ["q2c.saga.correlation"])
    # Every topic the catalog says the engine writes, except the adapters' command tiers.
    engine_topics = [
        n
        for n in _owned(catalog, ENGINE_OWNER)
        if not (n.startswith("q2c.commands.") and ".retry-" in n)
    ]
    rules.topics(Operation.WRITE, engine_topics)
    rules.topics(Operation.WRITE, ["q2c.ops.audit"])  # refused/accepted API calls
    rules.group(rules.ctx.group_id)
    rules.transactional_prefix(f"{rules.ctx.group_id}.task.")
    # The account validator runs inside the engine process on the adapters' CommandRunner: the
    # master-data command topic and its retry tiers (read, and write to move a command on).
    validator = _command_topics(catalog, "masterdata")
    rules.topics(
        Operation.READ,
        [*validator, "q2c.masterdata.legal-entities", "q2c.masterdata.accounts"],
    )
    rules.topics(Operation.WRITE, [t for t in validator if t != "q2c.commands.masterdata"])
    rules.topics(Operation.WRITE, ["q2c.masterdata.events"])
    rules.group(f"{rules.ctx.group_id}.masterdata")


def _operator(rules: _Rules, catalog: Catalog) -> None:
    dlqs = [t.name for t in catalog.topics if t.name.endswith(".dlq")]
    rules.topics(Operation.READ, [*dlqs, "q2c.saga.state", *_owned(catalog, OPS_OWNER)])
    # Replays go back to the dead letter's source topic; exception retry/cancel to the inbox.
    sources = [n.removesuffix(".dlq") for n in dlqs if n != "q2c.commands.dlq"]
    commands = [f"q2c.commands.{t}" for t in ("masterdata", "erp", "billing", "crm")]
    rules.topics(Operation.WRITE, [*sources, *commands, *_owned(catalog, OPS_OWNER)])
    rules.transactional_prefix(f"{rules.ctx.client_id}-replay-")
    # Checking the worker group is idle before moving its offsets (q2c replay).
    rules.group(rules.ctx.group_id)


def _native_topics(catalog: Catalog) -> tuple[list[str], list[str]]:
    """The native platform topics and their dead letters (both owned by the gateway)."""
    owned = _owned(catalog, GATEWAY_OWNER)
    return [n for n in owned if not n.endswith(".dlq")], [n for n in owned if n.endswith(".dlq")]


def _gateway(rules: _Rules, catalog: Catalog) -> None:
    # Stores authenticated requests as they came; it never reads Kafka or writes anything else.
    native, _ = _native_topics(catalog)
    rules.topics(Operation.WRITE, native)


def _translator(rules: _Rules, catalog: Catalog) -> None:
    native, dead = _native_topics(catalog)
    rules.topics(Operation.READ, native)
    # Canonical events to the domains' inbound topics; what it cannot map to the native DLQs.
    rules.topics(Operation.WRITE, [*(f"q2c.{d}.events" for d in DOMAINS), *dead])
    rules.group(f"{rules.ctx.group_id}-translator")
    rules.transactional_prefix(f"{rules.ctx.client_id}-translate-")


def _analytics(rules: _Rules) -> None:
    rules.topics(Operation.READ, STATUS_TOPICS)
    rules.group(rules.principal.removeprefix("User:"), PatternType.PREFIXED)


def desired_acls(
    catalog: Catalog, principals: Principals, ctx: AclContext
) -> frozenset[AclBinding]:
    """Every ALLOW binding the principals need; anything else is denied by the authorizer."""
    known = set(catalog.names)
    out: set[AclBinding] = set()
    for spec in principals.principals:
        rules = _Rules(spec, ctx)
        if spec.role is Role.ADAPTER:
            assert spec.platform is not None and spec.owner is not None  # model validator
            _adapter(rules, catalog, spec.platform, spec.owner)
        elif spec.role is Role.WORKER:
            _worker(rules, catalog)
        elif spec.role is Role.OPERATOR:
            _operator(rules, catalog)
        elif spec.role is Role.GATEWAY:
            _gateway(rules, catalog)
        elif spec.role is Role.TRANSLATOR:
            _translator(rules, catalog)
        else:
            _analytics(rules)
        out |= rules.out
    # A rule naming a topic the catalog lacks is a bug here, not a grant to make.
    missing = sorted(
        {
            a.resource.removeprefix(ctx.topic_prefix)
            for a in out
            if a.resource_type is ResourceType.TOPIC
        }
        - known
    )
    if missing:
        raise ValueError(f"ACL rules name topics missing from the catalog: {missing}")
    return frozenset(out)


def plan_acls(
    desired: Collection[AclBinding],
    observed: Collection[AclBinding],
    managed: Collection[str],
    ctx: AclContext | None = None,
) -> AclPlan:
    """Grants (desired, absent) and revokes (held by a managed principal on a resource `ctx`
    covers, not desired); every other binding is reported as unmanaged and left alone."""
    wanted, held = set(desired), set(observed)
    mine = {a for a in held if a.principal in managed and (ctx is None or ctx.covers(a))}
    return AclPlan(
        grants=tuple(sorted(wanted - held)),
        revokes=tuple(sorted(mine - wanted)),
        unmanaged=tuple(sorted(held - mine)),
    )


def matrix(acls: Iterable[AclBinding]) -> Iterator[tuple[str, str, str]]:
    """(principal, operation, resources) rows, for the README table and `q2c acls plan --matrix`."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for a in sorted(acls):
        star = "*" if a.pattern is PatternType.PREFIXED else ""
        kind = "" if a.resource_type is ResourceType.TOPIC else a.resource_type.name.lower() + ":"
        grouped.setdefault((a.principal, a.operation.name), []).append(f"{kind}{a.resource}{star}")
    for (principal, op), resources in grouped.items():
        yield principal, op, ", ".join(resources)
