"""Avro schema resolution rules, as a checker: can a reader schema read what a writer wrote?

Applied by `q2c schemas check` to every current schema against each release in
`schemas/history/`, so records already on topics stay readable after a schema change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.codec.store import PRIMITIVES, Definitions, SchemaStore

COMPLEX_KINDS = frozenset({"record", "error", "enum", "fixed", "array", "map"})

# writer type -> reader types that can read it (Avro spec, "Schema Resolution").
PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One reason a reader cannot read a writer: where (`Type.field...`) and why."""

    type_name: str
    version: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.type_name} (vs {self.version}) at {self.path}: {self.reason}"


class _Checker:
    def __init__(self, reader_defs: Definitions, writer_defs: Definitions) -> None:
        self.reader_defs = reader_defs
        self.writer_defs = writer_defs
        self.checking: set[tuple[str, str]] = set()  # named pairs in progress (recursion)

    @staticmethod
    def resolve(schema: Any, defs: Definitions) -> Any:
        """Follow named references and `{"type": <schema>}` wrappers to the definition."""
        while True:
            if isinstance(schema, str) and schema not in PRIMITIVES:
                schema = defs[schema]
            elif isinstance(schema, dict) and (
                isinstance(schema["type"], (dict, list))
                or (schema["type"] not in PRIMITIVES and schema["type"] not in COMPLEX_KINDS)
            ):
                schema = schema["type"]
            else:
                return schema

    @staticmethod
    def kind(schema: Any) -> str:
        if isinstance(schema, list):
            return "union"
        return schema if isinstance(schema, str) else str(schema["type"])

    @staticmethod
    def logical(schema: Any) -> tuple[Any, ...] | None:
        if isinstance(schema, dict) and "logicalType" in schema:
            return (schema["logicalType"], schema.get("precision"), schema.get("scale"))
        return None

    def check(self, reader: Any, writer: Any, path: str) -> Iterator[tuple[str, str]]:
        reader = self.resolve(reader, self.reader_defs)
        writer = self.resolve(writer, self.writer_defs)
        rkind, wkind = self.kind(reader), self.kind(writer)
        if wkind == "union":
            # Every branch the writer may have used must be readable.
            for i, branch in enumerate(writer):
                yield from self.check(reader, branch, f"{path}<branch {i}>")
            return
        if rkind == "union":
            if not any(not list(self.check(branch, writer, path)) for branch in reader):
                yield path, f"no branch of the reader union can read writer type {wkind}"
            return
        if rkind != wkind and rkind not in PROMOTIONS.get(wkind, frozenset()):
            yield path, f"type changed from {wkind} to {rkind} (not an Avro promotion)"
            return
        if self.logical(reader) != self.logical(writer):
            # Same physical type, different meaning (e.g. decimal scale, date vs int).
            yield (
                path,
                f"logical type changed from {self.logical(writer)} to {self.logical(reader)}",
            )
            return
        if rkind in ("record", "error", "enum", "fixed"):
            yield from self.check_named(reader, writer, path)
        elif rkind == "array":
            yield from self.check(reader["items"], writer["items"], f"{path}[]")
        elif rkind == "map":
            yield from self.check(reader["values"], writer["values"], f"{path}{{}}")

    def check_named(self, reader: Any, writer: Any, path: str) -> Iterator[tuple[str, str]]:
        names = {reader["name"], *reader.get("aliases", ())}
        if writer["name"] not in names:
            yield path, f"named type changed from {writer['name']} to {reader['name']}"
            return
        key = (reader["name"], writer["name"])
        if key in self.checking:
            return
        self.checking.add(key)
        try:
            kind = reader["type"]
            if kind == "enum":
                missing = set(writer["symbols"]) - set(reader["symbols"])
                if missing and "default" not in reader:
                    yield path, f"enum symbols removed without a default: {sorted(missing)}"
            elif kind == "fixed":
                if reader["size"] != writer["size"]:
                    yield path, "fixed size changed"
            else:
                yield from self.check_fields(reader, writer, path)
        finally:
            self.checking.discard(key)

    def check_fields(self, reader: Any, writer: Any, path: str) -> Iterator[tuple[str, str]]:
        written = {f["name"]: f for f in writer["fields"]}
        for field in reader["fields"]:
            names = [field["name"], *field.get("aliases", ())]
            source = next((written[n] for n in names if n in written), None)
            where = f"{path}.{field['name']}"
            if source is None:
                if "default" not in field:
                    yield where, "field added without a default"
                continue
            yield from self.check(field["type"], source["type"], where)


def reader_problems(
    name: str, reader_defs: Definitions, writer_defs: Definitions
) -> list[tuple[str, str]]:
    """`(path, reason)` pairs why `name` as defined by the reader cannot read the writer's."""
    return list(_Checker(reader_defs, writer_defs).check(name, name, name.rpartition(".")[2]))


def check_store(store: SchemaStore) -> list[Incompatibility]:
    """Every incompatibility of a current schema with any history release of the same type.

    Checked against every release, not only the latest, because topics may still hold
    records written with any of them. Types removed since a release are not an error here.
    """
    found = []
    for version, release in store.history.items():
        for name in release.definitions:
            if name not in store.current.definitions:
                continue
            for path, reason in reader_problems(
                name, store.current.definitions, release.definitions
            ):
                found.append(Incompatibility(name, version, path, reason))
    return found
