"""Read-backs (enrichment): the records a mapping needs that the native event does not carry.

Salesforce and Certinia CDC UPDATEs carry only the changed fields (`GAP_*` events none), SAP
notification events only keys, Oracle's project events no contract. A mapping rule names
what to read (`read_back:` in the mapping file); before translating, `enrich` reads it
through the platform's `RecordReader` (built on the outbound connectors' client, so reads
share the per-credential limiter and circuit breaker with the commands) and puts each
result at `readback.<name>` in the document the rule reads.

Outcomes:
- read: the enriched event, translated as usual;
- no reader configured for the platform: `Unmapped("needs read-back of ...")`, the native
  dead letter an operator replays (`q2c dlq replay`) once the platform is configured;
- a permanent failure (404, 400, forbidden): `Unmapped` naming the record and the status;
- a transient failure (5xx, timeout, rate limit, open circuit): the adapter toolkit's
  `TransientError` propagates, so the translator retries the batch and loses nothing.

Results are cached per record version (`version:` in the mapping, else the delivery id):
a redelivered or replayed event of the same version reads nothing again.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from engine.adapters.errors import PermanentError, TransientError
from engine.connectors.http import PlatformHttp
from engine.connectors.mapping import MappingFile
from engine.connectors.mapping.engine import READBACK, rules_to_read_back
from engine.connectors.mapping.model import API_NAME, ReadBack
from engine.connectors.mapping.paths import resolve
from engine.connectors.protocol import NativeEvent, Unmapped
from engine.lifecycle import AsyncStartStop

Record = dict[str, Any]
log = logging.getLogger("q2c.connectors")
CACHE_SIZE = 4096


class RecordReader(Protocol):
    """Reads records of one platform by id or by field values (GET only, never a write)."""

    platform: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def get(self, obj: str, record_id: str, fields: Sequence[str]) -> Record:
        """The record `obj` with `record_id`, those fields (PermanentError when absent)."""
        ...

    async def query(
        self, obj: str, where: Mapping[str, str], fields: Sequence[str]
    ) -> list[Record]:
        """Every record of `obj` whose fields equal `where` (all of them, every page)."""
        ...


class ReadBackCache:
    """Least recently used read-back results, keyed by platform, request and record version."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, ...], Record | list[Record]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, ...]) -> Record | list[Record] | None:
        found = self._items.get(key)
        if found is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return found

    def put(self, key: tuple[str, ...], value: Record | list[Record]) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


@dataclass(frozen=True)
class _Request:
    """One resolved read-back: what to read, and its cache key."""

    spec: ReadBack
    record_id: str | None
    where: tuple[tuple[str, str], ...]
    version: str

    def key(self, platform: str) -> tuple[str, ...]:
        where = "&".join(f"{k}={v}" for k, v in self.where)
        return (
            platform,
            self.spec.object,
            self.record_id or "",
            where,
            ",".join(self.spec.fields),
            self.version,
        )

    def label(self) -> str:
        target = self.record_id or " and ".join(f"{k}={v}" for k, v in self.where)
        return f"{self.spec.object} {target}"


class _Stop(Exception):
    def __init__(self, unmapped: Unmapped) -> None:
        self.unmapped = unmapped


def _one_value(doc: Mapping[str, Any], paths: str | list[str]) -> str:
    """The single text value at the first present of `paths` (a one-element list counts:
    CDC's recordIds)."""
    candidates = [paths] if isinstance(paths, str) else paths
    path = next((p for p in candidates if resolve(doc, p) is not None), candidates[0])
    value = resolve(doc, path)
    if isinstance(value, list):
        if len(value) != 1:
            raise _Stop(Unmapped(f"read-back needs one record id, found {len(value)}", path))
        value = value[0]
    if value is None or isinstance(value, dict | list) or value == "":
        raise _Stop(Unmapped("read-back key is missing", path))
    return value if isinstance(value, str) else str(value)


def _resolved(spec: ReadBack, doc: Mapping[str, Any], delivery_id: str) -> _Request:
    record_id = None if spec.id is None else _one_value(doc, spec.id)
    where = tuple((k, _one_value(doc, p)) for k, p in (spec.where or {}).items())
    version = delivery_id if spec.version is None else _one_value(doc, spec.version)
    return _Request(spec, record_id, where, version)


def _first_path(paths: str | list[str]) -> str:
    return paths if isinstance(paths, str) else paths[0]


class Enricher(AsyncStartStop):
    """Runs the read-backs of native events through the configured readers (one per mapping
    name: Certinia reads through its own Salesforce org client)."""

    def __init__(self, readers: Mapping[str, RecordReader], cache: ReadBackCache | None = None):
        self.readers = dict(readers)
        self.cache = cache or ReadBackCache()
        self.reads = 0

    async def enrich(self, native: NativeEvent, mapping: MappingFile) -> NativeEvent | Unmapped:
        """`native` with the read-backs its rules need, `native` itself when none does, or
        why they cannot be read (raises TransientError for a failure worth retrying)."""
        rules = rules_to_read_back(native, mapping)
        if not rules:
            return native
        reader = self.readers.get(native.mapping_name)
        if reader is None:
            wanted = ", ".join(r.describe() for rule in rules for r in rule.read_back)
            return Unmapped(f"needs read-back of {wanted}", rules[0].match[0].path)
        doc: dict[str, Any] = dict(native.document)
        results: dict[str, Any] = {}
        doc[READBACK] = results
        try:
            for rule in rules:
                for spec in rule.read_back:
                    if spec.name not in results:
                        results[spec.name] = await self._read(
                            reader, _resolved(spec, doc, native.delivery_id)
                        )
        except _Stop as stop:
            return stop.unmapped
        return NativeEvent(native.platform, native.kind, native.delivery_id, doc, native.mapping)

    async def enrich_all(
        self, natives: list[NativeEvent], mappings: Mapping[str, MappingFile]
    ) -> list[NativeEvent] | Unmapped:
        """Every native event of a request enriched, or the first reason one cannot be."""
        enriched: list[NativeEvent] = []
        for native in natives:
            mapping = mappings.get(native.mapping_name)
            result = native if mapping is None else await self.enrich(native, mapping)
            if isinstance(result, Unmapped):
                return result
            enriched.append(result)
        return enriched

    async def _read(self, reader: RecordReader, request: _Request) -> Record | list[Record]:
        key = request.key(reader.platform)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        spec = request.spec
        self.reads += 1
        try:
            if request.record_id is not None:
                found: Record | list[Record] = await reader.get(
                    spec.object, request.record_id, spec.fields
                )
            else:
                found = await reader.query(spec.object, dict(request.where), spec.fields)
        except PermanentError as exc:
            # The error's text is the platform's status and code, never the record's values.
            where = _first_path(spec.id or next(iter((spec.where or {}).values())))
            raise _Stop(Unmapped(f"read-back of {request.label()} failed: {exc}", where)) from None
        self.cache.put(key, found)
        return found

    async def start(self) -> None:
        for reader in self.readers.values():
            try:
                await reader.start()
            except (TransientError, PermanentError) as exc:
                # Not fatal: the client asks for a token again on the first read (401), and
                # until the platform answers its events wait in the retried batch.
                log.warning("read-backs of %s: %s", reader.platform, exc)

    async def stop(self) -> None:
        for reader in self.readers.values():
            await reader.stop()


class HttpReader(AsyncStartStop):
    """Base of the platform readers: one `PlatformHttp` built like the outbound connector's
    (same `Q2C_<PLATFORM>_*` settings, so the same per-credential limiter)."""

    platform: str
    http: PlatformHttp

    async def start(self) -> None:
        await self.http.start()

    async def stop(self) -> None:
        await self.http.stop()

    async def get_json(self, url: str, params: Mapping[str, str] | None = None) -> Any:
        """The JSON reply of a GET, every non-integer number a Decimal (money stays exact)."""
        reply = await self.http.request("GET", url, params=dict(params or {}))
        try:
            return json.loads(reply.content, parse_float=Decimal)
        except ValueError:
            raise PermanentError(f"{self.platform} GET {reply.status_code}: not JSON") from None


def checked_names(obj: str, fields: Sequence[str]) -> None:
    """Object and field names go into URLs and queries unquoted: only API names are allowed
    (the mapping model checks them at load; this guards other callers)."""
    for name in (obj, *fields):
        if not API_NAME.fullmatch(name):
            raise PermanentError(f"not an API name: {name!r}")
