"""`SchemaStore`: every `.avsc` under `schemas/` (current) and `schemas/history/<version>/`.

Each file defines one named type and refers to others by name. The store flattens each
folder into a table of definitions keyed by full name, then builds a standalone schema per
type (each named type inlined at its first use, referenced by name afterwards, as the Parsing
Canonical Form requires), parses it once with fastavro and indexes it by fingerprint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro import parse_schema

from engine.codec.errors import SchemaStoreError
from engine.codec.fingerprint import canonical_form, fingerprint64
from engine.paths import SCHEMAS_DIR

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED_KINDS = frozenset({"record", "error", "enum", "fixed"})
CURRENT = "current"

Definitions = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SchemaEntry:
    """One named type in one release: its standalone schema, parsed form and fingerprint."""

    name: str
    version: str
    standalone: Any
    parsed: Any
    canonical: str
    fingerprint: bytes

    @property
    def fingerprint_hex(self) -> str:
        return self.fingerprint.hex()


@dataclass(frozen=True, slots=True)
class SchemaSet:
    """All named types of one release (the current folder or one history version)."""

    version: str
    definitions: Definitions
    sources: dict[str, Path]
    entries: dict[str, SchemaEntry]


def _fullname(name: str, namespace: str | None) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def _flatten(schema: Any, namespace: str | None, defs: Definitions, source: Path) -> Any:
    """Record every named definition in `defs`; return `schema` with named types as references."""
    if isinstance(schema, str):
        return schema if schema in PRIMITIVES else _fullname(schema, namespace)
    if isinstance(schema, list):
        return [_flatten(branch, namespace, defs, source) for branch in schema]
    if not isinstance(schema, dict) or "type" not in schema:
        raise SchemaStoreError(f"{source}: not an Avro schema: {schema!r}")
    kind = schema["type"]
    if kind in NAMED_KINDS:
        fullname = _fullname(schema["name"], schema.get("namespace", namespace))
        inner_ns = fullname.rpartition(".")[0] or None
        definition = {k: v for k, v in schema.items() if k != "namespace"}
        definition["name"] = fullname
        if kind in ("record", "error"):
            definition["fields"] = [
                {**field, "type": _flatten(field["type"], inner_ns, defs, source)}
                for field in schema["fields"]
            ]
        if fullname in defs and defs[fullname] != definition:
            raise SchemaStoreError(f"{source}: {fullname} is defined twice, differently")
        defs[fullname] = definition
        return fullname
    if kind == "array":
        return {**schema, "items": _flatten(schema["items"], namespace, defs, source)}
    if kind == "map":
        return {**schema, "values": _flatten(schema["values"], namespace, defs, source)}
    if isinstance(kind, (dict, list)) or (isinstance(kind, str) and kind not in PRIMITIVES):
        return _flatten(kind, namespace, defs, source)
    return schema


def expand(name: str, defs: Definitions, seen: set[str] | None = None) -> Any:
    """A standalone schema for `name`: each named type inlined once, then referenced."""
    seen = set() if seen is None else seen

    def walk(schema: Any) -> Any:
        if isinstance(schema, str):
            if schema in PRIMITIVES or schema in seen:
                return schema
            if schema not in defs:
                raise SchemaStoreError(f"unknown Avro type {schema!r}")
            seen.add(schema)
            return walk(defs[schema])
        if isinstance(schema, list):
            return [walk(branch) for branch in schema]
        kind = schema["type"]
        if kind in ("record", "error"):
            fields = [{**field, "type": walk(field["type"])} for field in schema["fields"]]
            return {**schema, "fields": fields}
        if kind == "array":
            return {**schema, "items": walk(schema["items"])}
        if kind == "map":
            return {**schema, "values": walk(schema["values"])}
        return schema

    return walk(name)


def _version_key(version: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", version)
    return (int(digits) if digits else 0, version)


def load_set(folder: Path, version: str) -> SchemaSet:
    """Parse every `*.avsc` directly in `folder` into one release."""
    defs: Definitions = {}
    sources: dict[str, Path] = {}
    for path in sorted(folder.glob("*.avsc")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SchemaStoreError(f"{path}: {exc}") from exc
        name = _flatten(raw, None, defs, path)
        sources[name] = path
    entries: dict[str, SchemaEntry] = {}
    for name in defs:
        standalone = expand(name, defs)
        try:
            parsed = parse_schema(standalone)
        except Exception as exc:  # fastavro raises several types for a bad schema
            where = sources.get(name, folder)
            raise SchemaStoreError(f"{where}: {name} does not parse: {exc}") from exc
        canonical = canonical_form(standalone)
        entries[name] = SchemaEntry(
            name, version, standalone, parsed, canonical, fingerprint64(canonical)
        )
    return SchemaSet(version, defs, sources, entries)


class SchemaStore:
    """Current schemas by name, and every known release's schemas by fingerprint.

    Decoding looks the writer schema up by the fingerprint in the record and resolves it to
    the current schema of the same name (Avro schema evolution).
    """

    def __init__(self, root: Path = SCHEMAS_DIR) -> None:
        self.root = root
        self.current = load_set(root, CURRENT)
        history_dir = root / "history"
        versions = sorted(
            (p.name for p in history_dir.iterdir() if p.is_dir()) if history_dir.is_dir() else [],
            key=_version_key,
        )
        self.history: dict[str, SchemaSet] = {v: load_set(history_dir / v, v) for v in versions}
        self._by_fingerprint: dict[bytes, SchemaEntry] = {}
        # Older releases first, so that a canonical form unchanged since then maps to current.
        for schema_set in [*self.history.values(), self.current]:
            for entry in schema_set.entries.values():
                self._by_fingerprint[entry.fingerprint] = entry

    def entry(self, name: str) -> SchemaEntry:
        """The current schema of a type (full name, e.g. `io.q2c.ClosedWon`); KeyError if none."""
        return self.current.entries[name]

    def by_fingerprint(self, fingerprint: bytes) -> SchemaEntry | None:
        """The schema (any release) with this 8-byte fingerprint, or None."""
        return self._by_fingerprint.get(fingerprint)

    def releases(self) -> Iterator[SchemaSet]:
        """History versions oldest first, then the current release."""
        yield from self.history.values()
        yield self.current
