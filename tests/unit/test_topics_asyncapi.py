"""`q2c topics export --format asyncapi`: an AsyncAPI 3.0 document the official parser accepts,
describing every topic with its Avro contracts, key, headers and direction."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastavro import parse_schema
from typer.testing import CliRunner

from engine.cli.main import app
from engine.codec.fingerprint import canonical_form, fingerprint64
from engine.codec.store import SchemaStore
from engine.topics import load_catalog
from tests.tooling import fetch_once, require_tools

TOOLING = Path(__file__).resolve().parents[1] / "asyncapi"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("asyncapi") / "asyncapi.yaml"
    result = CliRunner().invoke(
        app,
        ["topics", "export", "--format", "asyncapi", "-o", str(path)],
        env={"Q2C_TOPIC_PREFIX": "eu."},
    )
    assert result.exit_code == 0, result.output
    return path, yaml.safe_load(path.read_text())


def official_parser() -> tuple[str, Path]:
    """node and the @asyncapi/parser install of tests/asyncapi (npm install on first use)."""
    node, npm = require_tools("node", "npm", purpose="to validate the AsyncAPI document")
    install = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"]
    fetch_once(TOOLING / "node_modules" / "@asyncapi" / "parser", install, TOOLING)
    return node, TOOLING / "validate.mjs"


def test_the_official_parser_accepts_the_document(exported: tuple[Path, dict[str, Any]]) -> None:
    path, _ = exported
    node, script = official_parser()
    proc = subprocess.run(
        [node, str(script), str(path)], capture_output=True, text=True, timeout=300, check=False
    )
    lines = proc.stdout.splitlines()
    errors = [json.loads(x) for x in lines if x.startswith("{") and json.loads(x)["severity"] == 0]
    assert proc.returncode == 0 and errors == [], errors[:5] or proc.stderr
    topics = len(load_catalog().topics)
    assert lines[-1].startswith(f"ok: {topics} channels, {topics} operations")


def test_channels_carry_address_bindings_and_avro_contracts(
    exported: tuple[Path, dict[str, Any]],
) -> None:
    _, document = exported
    assert document["asyncapi"] == "3.0.0"
    crm = document["channels"]["q2c.crm.events"]
    assert crm["address"] == "eu.q2c.crm.events"
    kafka = crm["bindings"]["kafka"]
    assert (kafka["partitions"], kafka["replicas"]) == (6, 3)
    assert kafka["topicConfiguration"] == {"cleanup.policy": ["delete"], "retention.ms": 604800000}
    closed_won = crm["messages"]["ClosedWon"]
    assert closed_won["bindings"]["kafka"]["key"]["description"] == "record key: deal_id"
    headers = document["components"]["schemas"]["Q2cHeaders"]["properties"]
    assert {"q2c-event-type", "q2c-event-id", "q2c-correlation-id", "traceparent"} <= set(headers)
    # The payload is the contract itself: same Avro fingerprint as the schema store's.
    payload = document["components"]["schemas"]["ClosedWon"]
    assert payload["schemaFormat"].startswith("application/vnd.apache.avro+json")
    parse_schema(payload["schema"])
    store = SchemaStore().entry("io.q2c.ClosedWon")
    assert fingerprint64(canonical_form(payload["schema"])) == store.fingerprint
    compacted = document["channels"]["q2c.masterdata.accounts"]["bindings"]["kafka"]
    assert compacted["topicConfiguration"]["cleanup.policy"] == ["compact"]


def test_operations_say_who_sends_and_who_receives(exported: tuple[Path, dict[str, Any]]) -> None:
    _, document = exported
    operations = document["operations"]
    assert operations["receive-q2c.crm.events"]["action"] == "receive"
    assert "written by crm-integration" in operations["receive-q2c.crm.events"]["summary"]
    commands = operations["send-q2c.commands.erp"]
    assert commands["action"] == "send"
    assert commands["channel"] == {"$ref": "#/channels/q2c.commands.erp"}
    refs = {m["$ref"] for m in commands["messages"]}
    assert "#/channels/q2c.commands.erp/messages/CreateProject" in refs
