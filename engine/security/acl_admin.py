"""Cluster I/O for ACLs: read the broker's bindings and apply an AclPlan.

aiokafka 0.14's admin client has no ACL methods, but its protocol module has the
DescribeAcls/CreateAcls/DeleteAcls requests; they are sent with aiokafka's own client, so
no JVM tool is needed. Both steps are idempotent: re-applying a plan changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest

from engine.kafka.connection import KafkaConnection
from engine.security.acls import (
    AclBinding,
    AclPlan,
    Operation,
    PatternType,
    Permission,
    ResourceType,
)
from engine.settings import Settings

_ANY = 1  # the ANY code of resource type, pattern type, operation and permission filters


class AclAdminError(RuntimeError):
    """The broker refused an ACL request; the message names the binding and the error."""


@asynccontextmanager
async def acl_client(settings: Settings) -> AsyncIterator[AIOKafkaClient]:
    """A bootstrapped client on the configured cluster (it needs ALTER on the cluster)."""
    options = KafkaConnection.from_settings(settings).options()
    client = AIOKafkaClient(client_id=f"{settings.client_id}-acls", **options)
    await client.bootstrap()
    try:
        yield client
    finally:
        await client.close()


def _check(code: int, message: str | None, what: str) -> None:
    if code:
        error = for_code(code)
        raise AclAdminError(f"{what}: {error.__name__}{': ' + message if message else ''}")


async def observe_acls(client: AIOKafkaClient) -> list[AclBinding]:
    """Every ALLOW/DENY binding the cluster holds (all resource types, all principals)."""
    response = await client.send(
        client.get_random_node(), DescribeAclsRequest(_ANY, None, _ANY, None, None, _ANY, _ANY)
    )
    _check(response.error_code, response.error_message, "describe ACLs")
    out: list[AclBinding] = []
    for resource_type, name, pattern, acls in response.resources:
        for principal, host, operation, permission in acls:
            out.append(
                AclBinding(
                    principal=principal,
                    resource_type=ResourceType(resource_type),
                    resource=name,
                    pattern=PatternType(pattern),
                    operation=Operation(operation),
                    permission=Permission(permission),
                    host=host,
                )
            )
    return out


def _fields(a: AclBinding) -> tuple[int, str, int, str, str, int, int]:
    return (
        a.resource_type,
        a.resource,
        a.pattern,
        a.principal,
        a.host,
        a.operation,
        a.permission,
    )


async def _create(client: AIOKafkaClient, acls: Iterable[AclBinding]) -> None:
    for a in acls:
        response = await client.send(client.get_random_node(), CreateAclsRequest(*_fields(a)))
        for code, message in response.creation_responses:
            _check(code, message, f"grant {a.describe()}")


async def _delete(client: AIOKafkaClient, acls: Iterable[AclBinding]) -> None:
    for a in acls:
        response = await client.send(client.get_random_node(), DeleteAclsRequest(*_fields(a)))
        for code, message, _matching in response.filter_responses:
            _check(code, message, f"revoke {a.describe()}")


async def apply_acls(client: AIOKafkaClient, plan: AclPlan) -> None:
    """Grant, then revoke: a principal never loses an ACL it keeps under another shape."""
    await _create(client, plan.grants)
    await _delete(client, plan.revokes)
