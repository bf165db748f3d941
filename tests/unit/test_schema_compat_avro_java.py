"""engine/codec/compat.py agrees with Apache Avro Java's `SchemaCompatibility`.

Each case is one schema change (old -> new), checked both ways: backward (new reader, old
writer) and forward (old reader, new writer), by our checker and by Avro Java 1.12
(tests/avro_java: its pom fetches the jar from Maven Central, Check.java asks
`SchemaCompatibility.checkReaderWriterCompatibility`). The repository's own schemas against
their history are cross-checked the same way. Where q2c is deliberately stricter than Avro
Java, the case is listed in STRICTER with the reason.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.codec.compat import Direction, reader_problems
from engine.codec.store import SchemaStore, load_set
from engine.paths import SCHEMAS_DIR
from tests.tooling import fetch_once, require_tools

AVRO_JAVA = Path(__file__).resolve().parents[1] / "avro_java"
Schema = dict[str, Any]

BASE: Schema = {
    "type": "record",
    "name": "T",
    "namespace": "io.q2c",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "n", "type": "int"},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "long"}},
        {"name": "h", "type": {"type": "fixed", "name": "Hash", "size": 4}},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
        },
        {
            "name": "inner",
            "type": {"type": "record", "name": "Inner", "fields": [{"name": "x", "type": "float"}]},
        },
    ],
}


def field(schema: Schema, name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def retype(name: str, new: Any) -> Callable[[Schema], None]:
    def change(s: Schema) -> None:
        field(s, name)["type"] = new
        field(s, name).pop("default", None)

    return change


def remove(name: str) -> Callable[[Schema], None]:
    return lambda s: s["fields"].remove(field(s, name))


def add(new_field: dict[str, Any]) -> Callable[[Schema], None]:
    return lambda s: s["fields"].append(new_field)


def enum(change: Callable[[dict[str, Any]], None]) -> Callable[[Schema], None]:
    return lambda s: change(field(s, "kind")["type"])


def rename_field(s: Schema) -> None:
    field(s, "id").update(name="ident", aliases=["id"])


def rename_record(s: Schema) -> None:
    s.update(name="T2", aliases=["io.q2c.T"])


CHANGES: dict[str, Callable[[Schema], None]] = {
    "add-field-with-default": add({"name": "extra", "type": "string", "default": "x"}),
    "add-field-without-default": add({"name": "extra", "type": "string"}),
    "remove-field-with-default": remove("note"),
    "remove-field-without-default": remove("id"),
    "int-to-long": retype("n", "long"),
    "int-to-double": retype("n", "double"),
    "int-to-string": retype("n", "string"),
    "string-to-bytes": retype("id", "bytes"),
    "float-to-double": lambda s: field(s, "inner")["type"]["fields"][0].update(type="double"),
    "nested-add-without-default": lambda s: field(s, "inner")["type"]["fields"].append(
        {"name": "y", "type": "int"}
    ),
    "enum-add-symbol": enum(lambda e: e["symbols"].append("C")),
    "enum-remove-symbol": enum(lambda e: e["symbols"].remove("B")),
    "enum-add-symbol-with-default": enum(lambda e: e.update(symbols=["A", "B", "C"], default="A")),
    "becomes-nullable": retype("id", ["null", "string"]),
    "union-narrowed": retype("note", "string"),
    "union-widened": lambda s: field(s, "note").update(type=["null", "string", "int"]),
    "array-items-string-to-int": retype("tags", {"type": "array", "items": "int"}),
    "map-values-long-to-int": retype("attrs", {"type": "map", "values": "int"}),
    "fixed-size-changed": retype("h", {"type": "fixed", "name": "Hash", "size": 8}),
    "field-renamed-with-alias": rename_field,
    "record-renamed-with-alias": rename_record,
    "decimal-scale-changed": retype(
        "amount", {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 3}
    ),
}

# (change, direction) -> why q2c refuses what Avro Java accepts.
STRICTER = {
    ("decimal-scale-changed", "backward"): "Avro Java ignores logical types; a scale change "
    "silently changes every amount's value",
    ("decimal-scale-changed", "forward"): "same as backward",
}


def avro_java() -> tuple[str, Path]:
    """java and the Avro classpath; fetched with Maven on first use."""
    java, mvn = require_tools("java", "mvn", purpose="to cross-check against Avro Java")
    lib = AVRO_JAVA / "target" / "lib"
    fetch_once(
        lib / "avro-1.12.0.jar", [mvn, "-q", "-B", "dependency:copy-dependencies"], AVRO_JAVA
    )
    return java, lib


def java_verdicts(cases: Path) -> dict[str, bool]:
    java, lib = avro_java()
    dirs = sorted(str(d) for d in cases.iterdir())
    out = subprocess.run(
        [java, "-cp", f"{lib}/*", str(AVRO_JAVA / "Check.java"), *dirs],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    verdicts = dict(line.split() for line in out.splitlines())
    return {case: verdict == "COMPATIBLE" for case, verdict in verdicts.items()}


def write_case(cases: Path, case: str, reader: Any, writer: Any) -> None:
    for role, schema in (("reader", reader), ("writer", writer)):
        folder = cases / case / role
        folder.mkdir(parents=True)
        (folder / "schema.avsc").write_text(json.dumps(schema))


def our_verdict(case_dir: Path, names: tuple[str, str], direction: Direction) -> bool:
    reader = load_set(case_dir / "reader", "reader").definitions
    writer = load_set(case_dir / "writer", "writer").definitions
    return not reader_problems(names[0], reader, writer, direction, writer_name=names[1])


def test_schema_changes_agree_with_avro_java(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    names: dict[str, tuple[tuple[str, str], Direction]] = {}
    for change_name, change in CHANGES.items():
        new = copy.deepcopy(BASE)
        change(new)
        write_case(cases, f"{change_name}.backward", new, BASE)
        write_case(cases, f"{change_name}.forward", BASE, new)
        renamed, old = f"io.q2c.{new['name']}", "io.q2c.T"
        names[f"{change_name}.backward"] = ((renamed, old), Direction.BACKWARD)
        names[f"{change_name}.forward"] = ((old, renamed), Direction.FORWARD)
    java = java_verdicts(cases)
    ours = {case: our_verdict(cases / case, *names[case]) for case in names}
    disagree = {
        case: (ours[case], java[case])
        for case in names
        if ours[case] != java[case] and tuple(case.rsplit(".", 1)) not in STRICTER
    }
    assert disagree == {}, "case: (ours, Avro Java)"
    for change_name, direction in STRICTER:
        case = f"{change_name}.{direction}"
        assert (ours[case], java[case]) == (False, True), case
    # The cases exercise both verdicts in both directions.
    assert {v for c, v in java.items() if c.endswith(".forward")} == {True, False}
    assert {v for c, v in java.items() if c.endswith(".backward")} == {True, False}


def test_repository_schemas_agree_with_avro_java(tmp_path: Path) -> None:
    store = SchemaStore(SCHEMAS_DIR)
    cases = tmp_path / "cases"
    expected: dict[str, bool] = {}
    for version, release in store.history.items():
        for name, old in release.entries.items():
            if name not in store.current.entries:
                continue
            new = store.current.entries[name]
            short = name.rpartition(".")[2]
            for direction, reader, writer in (
                (Direction.BACKWARD, new, old),
                (Direction.FORWARD, old, new),
            ):
                case = f"{short}.{version}.{direction}"
                write_case(cases, case, reader.standalone, writer.standalone)
                expected[case] = our_verdict(cases / case, (name, name), direction)
    assert expected, "no history to compare"
    assert java_verdicts(cases) == expected
