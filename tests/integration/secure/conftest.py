"""The secured-broker profile: a local KRaft broker with TLS, SCRAM users and deny-by-default ACLs.

One broker per session, started by the launcher (`start_cluster(secure=True)`) whatever
Kafka the rest of the suite uses: the security settings under test are the launcher's own.
Each test applies the ACL plan for its own topic prefix and group as the launcher's super
user, then connects as the least-privileged principals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.localkafka import LocalCluster, start_cluster
from engine.localkafka.secure import client_env
from engine.security.acl_admin import acl_client, apply_acls, observe_acls
from engine.security.acls import AclContext, desired_acls, plan_acls
from engine.security.principals import LAUNCHER_USER, load_principals
from engine.settings import Settings
from engine.topics import ensure_topics, load_catalog


@pytest.fixture(scope="session")
def secure_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = start_cluster(
        1, name="tests-secure", home=tmp_path_factory.mktemp("q2c-sec"), secure=True
    )
    try:
        yield cluster
    finally:
        cluster.destroy()


class SecureEnv:
    """Settings per principal under one test's topic prefix and group."""

    def __init__(self, cluster: LocalCluster, unique: str) -> None:
        self.cluster = cluster
        self.prefix = f"s{unique}."
        self.group = f"g{unique}"

    def settings(self, user: str, **extra: object) -> Settings:
        layout = self.cluster.security
        assert layout is not None
        env = client_env(layout, self.cluster.bootstrap_servers, user)
        return Settings(
            bootstrap_servers=env["Q2C_BOOTSTRAP_SERVERS"],
            security_protocol=env["Q2C_SECURITY_PROTOCOL"],  # type: ignore[arg-type]
            ssl_cafile=Path(env["Q2C_SSL_CAFILE"]),
            sasl_mechanism=env["Q2C_SASL_MECHANISM"],
            sasl_username=user,
            sasl_password_file=Path(env["Q2C_SASL_PASSWORD_FILE"]),
            topic_prefix=self.prefix,
            group_id=self.group,
            **extra,  # type: ignore[arg-type]
        )

    @property
    def admin(self) -> Settings:
        return self.settings(LAUNCHER_USER)

    async def prepare(self) -> None:
        """Create the catalog's topics and grant the principals' ACLs, as the super user."""
        await ensure_topics(self.admin)
        principals = load_principals()
        ctx = AclContext(self.prefix, self.group, self.admin.client_id)
        desired = desired_acls(load_catalog(), principals, ctx)
        async with acl_client(self.admin) as client:
            # No managed principals: other tests' grants (other prefixes) are left alone.
            await apply_acls(client, plan_acls(desired, await observe_acls(client), set()))
            # The broker's authorizer applies new ACLs from the metadata log a moment after
            # CreateAcls returns; DescribeAcls answers from that same view.
            for _ in range(100):  # bounded: at most 100 describes
                if desired <= set(await observe_acls(client)):
                    break
                await asyncio.sleep(0.1)
            assert desired <= set(await observe_acls(client))


@pytest.fixture
async def secure(secure_cluster: LocalCluster, unique: str) -> SecureEnv:
    env = SecureEnv(secure_cluster, unique)
    await env.prepare()
    return env
