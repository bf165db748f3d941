"""`q2c schemas check`: parse errors and incompatible changes (backward, or full where the
catalog asks for it) are refused."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastavro import schemaless_reader, schemaless_writer
from typer.testing import CliRunner

from engine.cli.main import app
from engine.codec import SchemaStore
from engine.codec.compat import check_store, reader_problems
from engine.paths import SCHEMAS_DIR
from engine.topics.loader import DEFAULT_CATALOG

runner = CliRunner()
Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def schemas(tmp_path: Path) -> Path:
    """A copy of the real schemas (current + history) to change."""
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, root)
    return root


@pytest.fixture
def backward_only(tmp_path: Path) -> Path:
    """The real catalog with every topic declared `compatibility: backward`."""
    raw = yaml.safe_load(DEFAULT_CATALOG.read_text())
    for topic in raw["topics"]:
        topic["compatibility"] = "backward"
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def edit(root: Path, type_name: str, change: Edit) -> None:
    path = root / f"{type_name}.avsc"
    schema = json.loads(path.read_text())
    change(schema)
    path.write_text(json.dumps(schema))


def add_field(field: dict[str, Any]) -> Edit:
    return lambda schema: schema["fields"].append(field)


def retype(name: str, new_type: Any) -> Edit:
    def change(schema: dict[str, Any]) -> None:
        for field in schema["fields"]:
            if field["name"] == name:
                field["type"] = new_type

    return change


def check(root: Path, catalog: Path = DEFAULT_CATALOG) -> Any:
    args = ["schemas", "check", "--root", str(root), "--catalog", str(catalog), "--quiet"]
    return runner.invoke(app, args)


def test_the_repository_schemas_pass() -> None:
    result = runner.invoke(app, ["schemas", "check"])
    assert result.exit_code == 0, result.output
    assert "io.q2c.ClosedWon" in result.output  # the table lists schemas ...
    fingerprint = SchemaStore().entry("io.q2c.ClosedWon").fingerprint_hex
    assert fingerprint in result.output  # ... with their fingerprints


def test_new_field_with_default_is_compatible(schemas: Path) -> None:
    edit(schemas, "Account", add_field({"name": "segment", "type": "string", "default": "smb"}))
    result = check(schemas)
    assert result.exit_code == 0, result.output


def test_new_field_without_default_is_refused(schemas: Path, backward_only: Path) -> None:
    edit(schemas, "Account", add_field({"name": "segment", "type": "string"}))
    result = check(schemas, backward_only)
    assert result.exit_code == 1
    assert (
        "io.q2c.Account (backward vs v1) at Account.segment: field added without a default"
        in result.output
    )
    # Types embedding Account are reported too, with the path to the field.
    assert "io.q2c.ClosedWon (backward vs v1) at ClosedWon.account.segment" in result.output


def test_removed_field_is_backward_compatible(schemas: Path) -> None:
    # DealCancelled is written only to topics q2c alone reads (compatibility: backward).
    edit(schemas, "DealCancelled", lambda s: s["fields"].pop())
    assert check(schemas).exit_code == 0


def test_removed_field_breaks_pinned_consumers_of_a_full_topic(schemas: Path) -> None:
    # CreateProject goes to q2c.commands.erp, which the ERP connector reads with its own schema.
    edit(schemas, "CreateProject", lambda s: s["fields"].pop())
    result = check(schemas)
    assert result.exit_code == 1
    assert "io.q2c.CreateProject (forward vs v1) at CreateProject." in result.output
    assert "field removed, older readers have no default for it" in result.output
    assert "Consumers pinned to an older schema" in result.output


def test_enum_symbol_added_breaks_pinned_consumers(schemas: Path, backward_only: Path) -> None:
    edit(schemas, "BillingModel", lambda s: s["symbols"].append("RETAINER"))
    assert check(schemas, backward_only).exit_code == 0  # new readers read old records
    result = check(schemas)  # BillingModel is inside CreateBillingSchedule (a command)
    assert result.exit_code == 1
    assert "enum symbols added, older readers have no default: ['RETAINER']" in result.output


def test_int_to_long_breaks_pinned_consumers(schemas: Path) -> None:
    edit(schemas, "Contract", retype("payment_terms_days", "long"))
    result = check(schemas)
    assert result.exit_code == 1
    assert "(forward vs v1)" in result.output
    assert "type changed from int to long: older readers cannot read the new type" in result.output


@pytest.mark.parametrize(
    ("field", "new_type", "ok"),
    [
        ("payment_terms_days", "long", True),  # int -> long is a promotion
        ("payment_terms_days", "double", True),
        ("payment_terms_days", "string", False),
        ("contract_id", "int", False),
        ("rate_card", "io.q2c.RateCard", False),  # no longer nullable: null cannot be read
        ("contract_id", ["null", "string"], True),  # becoming nullable is fine for readers
        ("start_date", {"type": "long", "logicalType": "timestamp-millis"}, False),
    ],
)
def test_backward_type_changes(
    schemas: Path, backward_only: Path, field: str, new_type: Any, ok: bool
) -> None:
    edit(schemas, "Contract", retype(field, new_type))
    result = check(schemas, backward_only)
    assert (result.exit_code == 0) is ok, result.output


def test_decimal_scale_change_is_refused(schemas: Path) -> None:
    decimal = {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 2}
    edit(schemas, "Money", retype("amount", decimal))
    result = check(schemas)
    assert result.exit_code == 1 and "logical type changed" in result.output


def test_enum_symbol_removed_is_refused(schemas: Path) -> None:
    edit(schemas, "BillingModel", lambda s: s["symbols"].remove("TIME_AND_MATERIALS"))
    result = check(schemas)
    assert result.exit_code == 1 and "enum symbols removed" in result.output


def test_unparsable_schema_is_reported(schemas: Path) -> None:
    edit(schemas, "Money", retype("amount", "io.q2c.NoSuchType"))
    result = check(schemas)
    assert result.exit_code == 1 and "NoSuchType" in result.output


def test_checker_agrees_with_fastavro_resolution(schemas: Path) -> None:
    # The compatible change really reads old data: decode a v1 record with the new schema.
    edit(schemas, "Money", add_field({"name": "note", "type": ["null", "string"], "default": None}))
    store = SchemaStore(schemas)
    assert check_store(store) == []
    buf = BytesIO()
    old = store.history["v1"].entries["io.q2c.Money"].parsed
    schemaless_writer(buf, old, {"amount": Decimal("2.5"), "currency": "EUR"})
    buf.seek(0)
    new = store.entry("io.q2c.Money").parsed
    record = schemaless_reader(buf, old, new)
    assert isinstance(record, dict) and record["note"] is None


def test_reader_problems_direct() -> None:
    writer = {
        "io.q2c.A": {"type": "record", "name": "io.q2c.A", "fields": [{"name": "x", "type": "int"}]}
    }
    reader = {
        "io.q2c.A": {
            "type": "record",
            "name": "io.q2c.A",
            "fields": [{"name": "x", "type": "long"}, {"name": "y", "type": "string"}],
        }
    }
    assert reader_problems("io.q2c.A", reader, writer) == [("A.y", "field added without a default")]
    assert reader_problems("io.q2c.A", writer, reader) == [
        ("A.x", "type changed from long to int (not an Avro promotion)")
    ]


def test_list_command(schemas: Path) -> None:
    result = runner.invoke(app, ["schemas", "list", "--root", str(schemas)])
    assert result.exit_code == 0 and "io.q2c.SagaStatusChanged" in result.output


def _classify(name: str, value: str | None) -> Edit:
    def change(schema: dict[str, Any]) -> None:
        for field in schema["fields"]:
            if field["name"] == name:
                field.pop("q2c.classification", None)
                if value is not None:
                    field["q2c.classification"] = value

    return change


@pytest.mark.parametrize(
    ("now", "said"), [(None, "removed"), ("tokenized", "changed to tokenized")]
)
def test_dropping_a_classification_is_refused(schemas: Path, now: str | None, said: str) -> None:
    # A release that classified Rate.hourly_rate; the current schema then drops or weakens it.
    edit(schemas / "history" / "v1", "Rate", _classify("hourly_rate", "confidential"))
    assert check(schemas).exit_code == 0
    edit(schemas, "Rate", _classify("hourly_rate", now))
    result = check(schemas)
    assert result.exit_code == 1
    assert f"at Rate.hourly_rate: classification confidential {said}" in result.output
