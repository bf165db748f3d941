"""Avro schema resolution rules, as a checker: can a reader schema read what a writer wrote?

Applied by `q2c schemas check` to every current schema against each release in
`schemas/history/` (transitively: every release, not only the latest):

- backward: the current schema reads records written with every older release, so records
  already on topics stay readable after a change;
- full: backward, and forward too (every older release reads records written with the
  current schema), for types written to topics other teams read: a consumer pinned to an
  old schema must not break when q2c upgrades.

Which types need full compatibility is declared per topic in the catalog (`compatibility`).
The rules are cross-checked against Apache Avro Java's `SchemaCompatibility` in
tests/unit/test_schema_compat_avro_java.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from engine.codec.store import PRIMITIVES, Definitions, SchemaStore
from engine.security.classification import field_classifications
from engine.topics.models import Compatibility

COMPLEX_KINDS = frozenset({"record", "error", "enum", "fixed", "array", "map"})

# writer type -> reader types that can read it (Avro spec, "Schema Resolution").
PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}


class Direction(StrEnum):
    """Which side of a change is the reader."""

    BACKWARD = "backward"  # reader = current schema, writer = an older release
    FORWARD = "forward"  # reader = an older release, writer = current schema


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One reason a reader cannot read a writer: where (`Type.field...`) and why."""

    type_name: str
    version: str
    path: str
    reason: str
    direction: Direction = Direction.BACKWARD

    def __str__(self) -> str:
        return (
            f"{self.type_name} ({self.direction} vs {self.version}) at {self.path}: {self.reason}"
        )


class _Checker:
    """Walks a reader and a writer schema together; reasons are worded as old -> new change."""

    def __init__(
        self, reader_defs: Definitions, writer_defs: Definitions, direction: Direction
    ) -> None:
        self.reader_defs = reader_defs
        self.writer_defs = writer_defs
        self.forward = direction is Direction.FORWARD
        self.checking: set[tuple[str, str]] = set()  # named pairs in progress (recursion)

    def changed(self, reader: object, writer: object) -> str:
        """`from <old> to <new>`: the writer is old when checking backward, new forward."""
        old, new = (reader, writer) if self.forward else (writer, reader)
        return f"from {old} to {new}"

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
                if self.forward:
                    yield path, f"older readers' union has no branch for the new type {wkind}"
                else:
                    yield path, f"no branch of the reader union can read writer type {wkind}"
            return
        if rkind != wkind and rkind not in PROMOTIONS.get(wkind, frozenset()):
            changed = self.changed(rkind, wkind)
            if self.forward:
                yield path, f"type changed {changed}: older readers cannot read the new type"
            else:
                yield path, f"type changed {changed} (not an Avro promotion)"
            return
        if self.logical(reader) != self.logical(writer):
            # Same physical type, different meaning (e.g. decimal scale, date vs int).
            changed = self.changed(self.logical(reader), self.logical(writer))
            yield path, f"logical type changed {changed}"
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
            yield path, f"named type changed {self.changed(reader['name'], writer['name'])}"
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
                    if self.forward:
                        yield (
                            path,
                            f"enum symbols added, older readers have no default: {sorted(missing)}",
                        )
                    else:
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
                    if self.forward:
                        yield where, "field removed, older readers have no default for it"
                    else:
                        yield where, "field added without a default"
                continue
            yield from self.check(field["type"], source["type"], where)


def reader_problems(
    name: str,
    reader_defs: Definitions,
    writer_defs: Definitions,
    direction: Direction = Direction.BACKWARD,
    writer_name: str | None = None,
) -> list[tuple[str, str]]:
    """`(path, reason)` pairs why `name` as defined by the reader cannot read the writer's.

    `direction` only words the reasons: FORWARD when the reader is the older schema.
    `writer_name` is the writer's type when it differs (a type renamed with an alias).
    """
    checker = _Checker(reader_defs, writer_defs, direction)
    return list(checker.check(name, writer_name or name, name.rpartition(".")[2]))


def check_store(
    store: SchemaStore, required: dict[str, Compatibility] | None = None
) -> list[Incompatibility]:
    """Every incompatibility of a current schema with any history release of the same type.

    Backward for every type; forward too for types `required` marks FULL. Checked against
    every release, not only the latest, because topics may hold records written with any of
    them and consumers may be pinned to any of them. Types removed since a release are not
    an error here; a field that loses its classification is.
    """
    required = required or {}
    found = []
    current = store.current.definitions
    for version, release in store.history.items():
        for name in release.definitions:
            if name not in current:
                continue
            for path, reason in reader_problems(name, current, release.definitions):
                found.append(Incompatibility(name, version, path, reason))
            if required.get(name) is Compatibility.FULL:
                for path, reason in reader_problems(
                    name, release.definitions, current, Direction.FORWARD
                ):
                    found.append(Incompatibility(name, version, path, reason, Direction.FORWARD))
        found.extend(classification_problems(version, current, release.definitions))
    return found


def classification_problems(
    version: str, current: Definitions, release: Definitions
) -> Iterator[Incompatibility]:
    """A field classified in a release must keep that classification: dropping or changing it
    would put values in clear (or in another form) that consumers and operators rely on being
    protected."""
    now = field_classifications(current)
    for (record, field), was in field_classifications(release).items():
        if record not in current or not any(
            f["name"] == field for f in current[record].get("fields", ())
        ):
            continue  # removed fields are checked by the reader rules
        is_now = now.get((record, field))
        if is_now is not was:
            change = "removed" if is_now is None else f"changed to {is_now}"
            yield Incompatibility(
                record,
                version,
                f"{record.rpartition('.')[2]}.{field}",
                f"classification {was} {change}: classified fields stay protected",
            )


def required_compatibility(
    topics: Iterable[tuple[Compatibility, Iterable[str]]],
) -> dict[str, Compatibility]:
    """Type name -> the strictest compatibility of the topics it is written to.

    `topics` pairs each topic's declared compatibility with its value schema names (the
    catalog's `value_schemas`; descriptions of non-Avro values are ignored).
    """
    out: dict[str, Compatibility] = {}
    for compatibility, names in topics:
        for name in names:
            if name.startswith("io.q2c.") and out.get(name) is not Compatibility.FULL:
                out[name] = compatibility
    return out
