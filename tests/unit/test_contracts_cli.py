"""`q2c publish` refuses a bad file before touching Kafka, naming the field (exit code 2)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from engine.cli.main import app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"
runner = CliRunner()


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "deal.json"
    path.write_text(json.dumps(data))
    return path


def test_bad_field_is_named_with_exit_code_2(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "closed-won.json").read_text())
    data["account"]["legal_entity"] = None
    data["contract"]["payment_terms_days"] = 0
    path = _write(tmp_path, data)
    result = runner.invoke(app, ["publish", "--type", "closed-won", "--file", str(path)])
    assert result.exit_code == 2
    assert "contract.payment_terms_days" in result.output


def test_missing_legal_entity_is_named(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "closed-won.json").read_text())
    data["account"]["legal_entity"] = None
    path = _write(tmp_path, data)
    result = runner.invoke(app, ["publish", "--type", "closed-won", "--file", str(path)])
    assert result.exit_code == 2
    assert "account.legal_entity is required" in result.output


def test_not_json_and_unknown_type(tmp_path: Path) -> None:
    path = tmp_path / "deal.json"
    path.write_text("{not json")
    result = runner.invoke(app, ["publish", "--type", "closed-won", "--file", str(path)])
    assert result.exit_code == 2 and "not JSON" in result.output
    good = FIXTURES / "closed-won.json"
    result = runner.invoke(app, ["publish", "--type", "closed-lost", "--file", str(good)])
    assert result.exit_code == 2 and "unknown event type" in result.output


def test_dry_run_accepts_a_valid_file() -> None:
    good = FIXTURES / "closed-won.json"
    result = runner.invoke(
        app, ["publish", "--type", "closed-won", "--file", str(good), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "valid closed-won" in result.output


def test_patterns_are_explained_in_words(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "closed-won.json").read_text())
    data["account"]["currency"] = "eur"
    data["account"]["country"] = "Germany"
    result = runner.invoke(
        app, ["publish", "--type", "closed-won", "--file", str(_write(tmp_path, data))]
    )
    assert result.exit_code == 2
    assert "account.currency: should be a three-letter upper-case currency code" in result.output
    assert "account.country: should be a two-letter upper-case country code" in result.output
    assert "^[A-Z]" not in result.output
