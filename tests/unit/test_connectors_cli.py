"""`q2c connectors check|map` as an integrator uses them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from engine.cli.main import app
from engine.connectors.registry import default_mapping_path
from tests.connector_cases import FIXTURES

RUNNER = CliRunner()


def test_check_passes_the_shipped_mappings() -> None:
    result = RUNNER.invoke(app, ["connectors", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok: ") == 7


def test_check_names_file_line_and_field_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "stripe.yaml"
    text = default_mapping_path("stripe").read_text()
    bad.write_text(text.replace("payment.invoice_id:", "payment.invoice:"))
    result = RUNNER.invoke(app, ["connectors", "check", str(bad)])
    assert result.exit_code == 1
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "payment.invoice_id:" in t)
    assert (
        f"{bad}:{line}: rules[1].fields.payment.invoice: unknown canonical field" in result.output
    )
    assert "missing required canonical field payment.invoice_id" in result.output


def test_check_without_any_mapping_file_fails(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["connectors", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert "no mapping files found" in result.output


def test_map_prints_the_canonical_events() -> None:
    payload = FIXTURES / "netsuite" / "invoice-created.json"
    result = RUNNER.invoke(app, ["connectors", "map", "netsuite", str(payload)])
    assert result.exit_code == 0, result.output
    event = json.loads(result.output)
    assert event["envelope"]["event_type"] == "invoice-issued"
    assert event["invoice"]["total"] == {"amount": "50000.2500", "currency": "EUR"}


def test_map_gives_the_reason_and_field_it_cannot_map() -> None:
    payload = FIXTURES / "certinia" / "milestone-approved-not-enriched.cdc.json"
    result = RUNNER.invoke(app, ["connectors", "map", "certinia", str(payload)])
    assert result.exit_code == 1
    assert "unmapped: required value is missing (field payload.pse__Project__c)" in result.output


def test_map_with_a_firm_mapping_file(tmp_path: Path) -> None:
    firm = tmp_path / "dynamics.yaml"
    text = default_mapping_path("dynamics").read_text()
    firm.write_text(
        text.replace(
            '"5": "Lost in Dynamics 365: Out-Sold"',
            '"5": "Out-Sold"\n          "100000001": "Price"',
        )
    )
    payload = FIXTURES / "dynamics" / "lose-custom-status.json"
    result = RUNNER.invoke(
        app, ["connectors", "map", "dynamics", str(payload), "--mapping", str(firm)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["reason"] == "Price"


def test_map_binary_mode_cloudevent_with_headers() -> None:
    payload = FIXTURES / "sap" / "project-released-binary.json"
    meta = json.loads((FIXTURES / "sap" / "project-released-binary.request.json").read_text())
    headers = [f"--header={k}:{v}" for k, v in meta["headers"].items() if k.startswith("ce-")]
    result = RUNNER.invoke(app, ["connectors", "map", "sap", str(payload), *headers])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["project_id"] == "fa163e1c-0000-1eda-8000-000000000007"
