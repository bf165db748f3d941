"""Salesforce read-backs: REST sObject GET by record id, SOQL for related records.

- `GET /services/data/vXX.X/sobjects/<Object>/<Id>?fields=<a,b>`
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_get_field_values.htm);
- `GET /services/data/vXX.X/query?q=SELECT <a,b> FROM <Object> WHERE <k> = '<v>'`, following
  `nextRecordsUrl` until `done`
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm).

Values in a SOQL string literal are escaped as the SOQL reference says (backslash and quote).
Reads carry q2c's `Sforce-Call-Options` client header like its writes. Certinia lives in a
Salesforce org, so its reader is this one with Certinia's connection settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import quote

from engine.adapters.errors import PermanentError
from engine.connectors.http import HttpConfig, PlatformHttp
from engine.connectors.outbound.fields import load_fields
from engine.connectors.readback import HttpReader, Record, checked_names
from engine.connectors.salesforce.outbound import with_client_header

MAX_PAGES = 50


def soql_literal(value: str) -> str:
    """`value` as a SOQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def soql(obj: str, where: Mapping[str, str], fields: Sequence[str]) -> str:
    """The SOQL query of the records of `obj` whose fields equal `where`."""
    checked_names(obj, [*fields, *where])
    condition = " AND ".join(f"{k} = {soql_literal(v)}" for k, v in where.items())
    return f"SELECT {', '.join(fields)} FROM {obj} WHERE {condition}"


class SalesforceReader(HttpReader):
    """Reads Salesforce (or Certinia) records over the REST API."""

    def __init__(self, config: HttpConfig) -> None:
        self.platform = config.platform
        self.http = PlatformHttp(with_client_header(config))
        self.api_version = load_fields(config.platform).api_version or "v60.0"

    async def get(self, obj: str, record_id: str, fields: Sequence[str]) -> Record:
        checked_names(obj, fields)
        url = f"/services/data/{self.api_version}/sobjects/{obj}/{quote(record_id, safe='')}"
        found = await self.get_json(url, {"fields": ",".join(fields)})
        return dict(found)

    async def query(
        self, obj: str, where: Mapping[str, str], fields: Sequence[str]
    ) -> list[Record]:
        page = await self.get_json(
            f"/services/data/{self.api_version}/query", {"q": soql(obj, where, fields)}
        )
        records = list(page.get("records", []))
        for _ in range(MAX_PAGES):
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return records
            page = await self.get_json(str(page["nextRecordsUrl"]))
            records.extend(page.get("records", []))
        raise PermanentError(f"salesforce query of {obj} has more than {MAX_PAGES} pages")
