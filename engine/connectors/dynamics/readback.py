"""Dynamics 365 (Dataverse Web API) read-backs: GET a row by id, `$filter` for related rows.

- `GET /api/data/v9.2/<entity set>(<guid>)?$select=<a,b>`
  (https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/retrieve-entity-using-web-api);
- `GET /api/data/v9.2/<entity set>?$select=...&$filter=<a> eq <v> and ...`, following
  `@odata.nextLink` (https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/query-data-web-api).

Lookup columns read as `_<name>_value` (a GUID). In a filter a GUID is written bare, any other
value as an OData string literal.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from engine.adapters.errors import PermanentError
from engine.connectors.dynamics.outbound import ODATA_HEADERS
from engine.connectors.http import HttpConfig, PlatformHttp
from engine.connectors.outbound.fields import load_fields
from engine.connectors.readback import HttpReader, Record, checked_names

MAX_PAGES = 20


def odata_value(value: str) -> str:
    """A filter value: a GUID bare (Dataverse's lookup values), otherwise a string literal."""
    try:
        uuid.UUID(value)
    except ValueError:
        return "'" + value.replace("'", "''") + "'"
    return value


class DynamicsReader(HttpReader):
    """Reads Dataverse rows over the Web API."""

    def __init__(self, config: HttpConfig) -> None:
        self.platform = config.platform
        headers = {**ODATA_HEADERS, **config.headers}
        self.http = PlatformHttp(config.model_copy(update={"headers": headers}))
        self.base = f"/api/data/{load_fields('dynamics').api_version or 'v9.2'}"

    async def get(self, obj: str, record_id: str, fields: Sequence[str]) -> Record:
        checked_names(obj, fields)
        try:
            key = str(uuid.UUID(record_id))
        except ValueError:
            raise PermanentError(f"dynamics {obj} id is not a GUID") from None
        return dict(await self.get_json(f"{self.base}/{obj}({key})", {"$select": ",".join(fields)}))

    async def query(
        self, obj: str, where: Mapping[str, str], fields: Sequence[str]
    ) -> list[Record]:
        checked_names(obj, [*fields, *where])
        page = await self.get_json(
            f"{self.base}/{obj}",
            {
                "$select": ",".join(fields),
                "$filter": " and ".join(f"{k} eq {odata_value(v)}" for k, v in where.items()),
            },
        )
        records = list(page.get("value", []))
        for _ in range(MAX_PAGES):
            link = page.get("@odata.nextLink")
            if not link:
                return records
            page = await self.get_json(str(link))
            records.extend(page.get("value", []))
        raise PermanentError(f"dynamics query of {obj} has more than {MAX_PAGES} pages")
