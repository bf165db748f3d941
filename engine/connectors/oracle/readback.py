"""Oracle Fusion read-backs: REST resource GET by id, `q` finder queries for the rest.

- `GET /fscmRestApi/resources/<version>/<resource>/<id>?fields=<a,b>&onlyData=true`
  (e.g. "Get a project",
  https://docs.oracle.com/en/cloud/saas/project-management/24d/fapap/op-projects-projectid-get.html);
- `GET .../<resource>?q=<Field>='<value>';...&fields=...&onlyData=true`, paged with `offset`
  while `hasMore` (https://docs.oracle.com/en/cloud/saas/applications-common/24d/farac/Paging.html).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import quote

from engine.adapters.errors import PermanentError
from engine.connectors.http import HttpConfig, PlatformHttp
from engine.connectors.oracle.outbound import FRAMEWORK, finder
from engine.connectors.outbound.fields import load_fields
from engine.connectors.readback import HttpReader, Record, checked_names

PAGE = 500
MAX_PAGES = 20


class OracleReader(HttpReader):
    """Reads Oracle Fusion REST resources."""

    def __init__(self, config: HttpConfig) -> None:
        self.platform = config.platform
        headers = {**FRAMEWORK, **config.headers}
        self.http = PlatformHttp(config.model_copy(update={"headers": headers}))
        self.base = f"/fscmRestApi/resources/{load_fields('oracle').api_version or '11.13.18.05'}"

    async def get(self, obj: str, record_id: str, fields: Sequence[str]) -> Record:
        checked_names(obj, fields)
        url = f"{self.base}/{obj}/{quote(record_id, safe='')}"
        return dict(await self.get_json(url, {"fields": ",".join(fields), "onlyData": "true"}))

    async def query(
        self, obj: str, where: Mapping[str, str], fields: Sequence[str]
    ) -> list[Record]:
        checked_names(obj, [*fields, *where])
        params = {
            "q": ";".join(finder(k, v) for k, v in where.items()),
            "fields": ",".join(fields),
            "onlyData": "true",
            "limit": str(PAGE),
        }
        records: list[Record] = []
        for page in range(MAX_PAGES):
            found = await self.get_json(
                f"{self.base}/{obj}", {**params, "offset": str(page * PAGE)}
            )
            records.extend(found.get("items", []))
            if not found.get("hasMore"):
                return records
        raise PermanentError(f"oracle query of {obj} has more than {MAX_PAGES} pages")
