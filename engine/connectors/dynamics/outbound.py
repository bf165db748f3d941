"""Dynamics 365 (Dataverse Web API) outbound: update-crm-status and escalate.

Idempotency is the upsert by alternate key, `PATCH <entityset>(<key>='<value>')`, which
creates or updates and never duplicates on replay. `If-Match: *` makes it update-only (a
missing opportunity is a 404, permanent: q2c never creates opportunities); `If-None-Match: *`
makes it create-only, so a redelivered escalation answers 412, which means "already done".
Service-protection limits arrive as 429 + Retry-After and are waited out by `PlatformHttp`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from engine.connectors.outbound.connector import HttpConnector
from engine.contracts import Command, Escalate, Event, UpdateCrmStatus

PLATFORM = "dynamics"
ODATA_HEADERS = {"OData-Version": "4.0", "OData-MaxVersion": "4.0", "Accept": "application/json"}


def key_url(api_version: str, entity_set: str, key_field: str, value: str) -> str:
    """`/api/data/<v>/<set>(<key>='<value>')`, the value quoted as an OData string literal."""
    literal = value.replace("'", "''")
    return f"/api/data/{api_version}/{entity_set}({key_field}='{quote(literal, safe='')}')"


class DynamicsConnector(HttpConnector):
    """Commands of the crm target against Dynamics 365 Sales (Dataverse)."""

    platform = PLATFORM
    commands = frozenset({"update-crm-status", "escalate"})

    default_headers = ODATA_HEADERS

    @property
    def api_version(self) -> str:
        return self.fields.api_version or "v9.2"

    async def handle(self, command: Command) -> Sequence[Event]:
        if isinstance(command, UpdateCrmStatus):
            await self.upsert(
                "opportunity",
                command.deal_id,
                {"q2c_status": command.status, "q2c_statusdetail": command.detail},
                condition={"If-Match": "*"},
            )
            return []
        if isinstance(command, Escalate):
            await self.upsert(
                "escalation",
                command.header.idempotency_key,
                {"title": f"q2c {command.kind}", "description": command.detail,
                 "q2c_dealid": command.deal_id},
                condition={"If-None-Match": "*"},
            )  # fmt: skip
            return []
        raise self.unsupported(command)

    async def upsert(
        self, role: str, value: str, body: Mapping[str, Any], *, condition: Mapping[str, str]
    ) -> bool:
        """Upsert by alternate key; False when create-only found the record already there."""
        spec = self.fields.record(role)
        if spec.external_id is None:
            raise ValueError(f"{spec.name} has no alternate key in the field file")
        reply = await self.http.request(
            "PATCH",
            key_url(self.api_version, spec.name, spec.external_id, value),
            json={**spec.defaults, **body},
            headers=dict(condition),
            ok=(412,) if "If-None-Match" in condition else (),
        )
        return reply.status_code != 412
