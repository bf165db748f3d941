"""SAP S/4HANA read-backs: OData V2 GET of an entity by key, `$filter` queries for the rest.

Notification business events carry keys only; the details are read from the API the key
belongs to, e.g. `GET /sap/opu/odata/sap/API_ENTERPRISE_PROJECT_SRV;v=0002/
A_EnterpriseProject(guid'<ProjectUUID>')?$select=Project,ProjectExternalID`
(https://api.sap.com/api/API_ENTERPRISE_PROJECT_SRV_0002/resource). A mapping's `object` is
`<service>/<entity set>`; a key that is a UUID is written as OData V2's `guid'...'`, any
other as a string literal. Reads need no CSRF token (only changes do).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from engine.adapters.errors import PermanentError
from engine.connectors.http import HttpConfig, PlatformHttp
from engine.connectors.readback import HttpReader, Record, checked_names
from engine.connectors.sap.outbound import odata_literal

ROOT = "/sap/opu/odata/sap/"
PAGE = 500
MAX_PAGES = 20


def odata_key(value: str) -> str:
    """An OData V2 key literal: `guid'...'` for a UUID, a quoted string otherwise."""
    try:
        uuid.UUID(value)
    except ValueError:
        return odata_literal(value)
    return f"guid'{value}'"


def _entity(reply: Any) -> Any:
    body = reply.get("d") if isinstance(reply, dict) else None
    if not isinstance(body, dict):
        raise PermanentError("sap OData reply has no d object")
    return body


class SapReader(HttpReader):
    """Reads SAP S/4HANA OData V2 entities."""

    def __init__(self, config: HttpConfig) -> None:
        self.platform = config.platform
        headers = {"Accept": "application/json", **config.headers}
        self.http = PlatformHttp(config.model_copy(update={"headers": headers}))

    async def get(self, obj: str, record_id: str, fields: Sequence[str]) -> Record:
        checked_names(obj, fields)
        reply = await self.get_json(
            f"{ROOT}{obj}({odata_key(record_id)})", {"$select": ",".join(fields)}
        )
        return {k: v for k, v in _entity(reply).items() if k != "__metadata"}

    async def query(
        self, obj: str, where: Mapping[str, str], fields: Sequence[str]
    ) -> list[Record]:
        checked_names(obj, [*fields, *where])
        params = {
            "$filter": " and ".join(f"{k} eq {odata_literal(v)}" for k, v in where.items()),
            "$select": ",".join(fields),
            "$top": str(PAGE),
        }
        records: list[Record] = []
        for page in range(MAX_PAGES):
            found = _entity(
                await self.get_json(f"{ROOT}{obj}", {**params, "$skip": str(page * PAGE)})
            )
            batch = list(found.get("results", []))
            records.extend(batch)
            if len(batch) < PAGE:
                return records
        raise PermanentError(f"sap query of {obj} has more than {MAX_PAGES} pages")
