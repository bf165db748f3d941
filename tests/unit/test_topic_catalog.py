"""The real catalog follows the conventions; the models reject broken catalogs at load."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.topics import Catalog, CatalogError, load_catalog, name

INBOUND = ["q2c.crm.events", "q2c.erp.events", "q2c.billing.events", "q2c.masterdata.events"]
COMMANDS = [f"q2c.commands.{t}" for t in ("masterdata", "erp", "billing", "crm")]
THIRTY_DAYS_MS = 30 * 24 * 3600 * 1000
# The gateway's per-platform native-event topics and their dead letters (engine.connectors).
NATIVE = [
    f"q2c.native.{p}" for p in ("salesforce", "dynamics", "netsuite", "sap", "oracle", "stripe")
]

# Names the runtime and the publisher address directly; renaming one breaks them.
REQUIRED = {
    *INBOUND,
    "q2c.masterdata.legal-entities",
    "q2c.masterdata.accounts",
    "q2c.billing.poll-watermarks",
    "q2c.billing.poll-replays",
    "q2c.billing.poll-replays.dlq",
    "q2c.saga.inbox",
    "q2c.saga.state",
    "q2c.saga.correlation",
    "q2c.saga.status",
    "q2c.analytics.events",
    "q2c.commands.masterdata",
    "q2c.commands.erp",
    "q2c.commands.billing",
    "q2c.commands.crm",
    "q2c.commands.dlq",
    "q2c.ops.audit",
    "q2c.ops.replay-progress",
    *(f"{t}.{q}" for t in [*INBOUND, "q2c.saga.inbox"] for q in ("retry-1m", "retry-10m", "dlq")),
    *(f"{t}.{q}" for t in COMMANDS for q in ("retry-1m", "retry-10m")),
    *NATIVE,
    *(f"{t}.dlq" for t in NATIVE),
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _contract_types(repo_root: Path) -> set[str]:
    """Avro type names (io.q2c.PascalCase) of every event/command/record in CONTRACTS.md."""
    text = (repo_root / "schemas" / "CONTRACTS.md").read_text()
    # Event and command table rows: "| closed-won | crm | ..." / "| escalate | crm | ...".
    row = r"^\| ([a-z]+(?:-[a-z]+)*) \| (?:crm|erp|billing|masterdata|ops)\b"
    kebab = set(re.findall(row, text, flags=re.M))
    kebab |= set(re.findall(r"`([a-z]+(?:-[a-z]+)*-upserted)`", text))
    pascal = {"".join(w.capitalize() for w in k.split("-")) for k in kebab}
    pascal |= set(re.findall(r"`(SagaStatusChanged)`", text))
    return {f"io.q2c.{p}" for p in pascal}


def test_catalog_has_exactly_the_topics_q2c_uses(catalog: Catalog) -> None:
    assert set(catalog.names) == REQUIRED


def test_names_follow_the_convention(catalog: Catalog) -> None:
    # Checked independently of the model's regex, from the documented rule.
    for topic in catalog.names:
        parts = topic.split(".")
        assert parts[0] == "q2c" and 3 <= len(parts) <= 4, topic
        for part in parts[1:]:
            assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", part), (topic, part)


def test_production_durability(catalog: Catalog) -> None:
    for t in catalog.topics:
        assert (t.replication_factor, t.min_insync_replicas) == (3, 2), t.name


def test_compacted_topics_leave_retention_to_compaction(catalog: Catalog) -> None:
    compacted = {t.name for t in catalog.topics if t.cleanup_policy.value == "compact"}
    assert {
        "q2c.masterdata.legal-entities",
        "q2c.masterdata.accounts",
        "q2c.saga.state",
        "q2c.saga.correlation",
        "q2c.ops.replay-progress",
    } <= compacted
    for t in catalog.topics:
        if t.name in compacted:
            assert t.retention_ms is None, t.name


def test_retry_and_dlq_topics_mirror_their_source(catalog: Catalog) -> None:
    for source in [*INBOUND, "q2c.saga.inbox"]:
        base = catalog.get(source)
        for qualifier in ("retry-1m", "retry-10m", "dlq"):
            derived = catalog.get(f"{source}.{qualifier}")
            assert derived.partitions == base.partitions, derived.name
            assert set(derived.value_schemas) == set(base.value_schemas), derived.name
        assert catalog.get(f"{source}.dlq").retention_ms == THIRTY_DAYS_MS
    assert catalog.get("q2c.commands.dlq").retention_ms == THIRTY_DAYS_MS
    for source in COMMANDS:
        base = catalog.get(source)
        for qualifier in ("retry-1m", "retry-10m"):
            derived = catalog.get(f"{source}.{qualifier}")
            assert derived.partitions == base.partitions, derived.name
            assert set(derived.value_schemas) == set(base.value_schemas), derived.name


def test_inbox_and_state_are_copartitioned(catalog: Catalog) -> None:
    inbox, state = catalog.get("q2c.saga.inbox"), catalog.get("q2c.saga.state")
    assert inbox.partitions == state.partitions == 6
    assert inbox.copartition_group == state.copartition_group is not None


def test_avro_value_schemas_exist_in_contracts(catalog: Catalog, repo_root: Path) -> None:
    known = _contract_types(repo_root)
    assert "io.q2c.ClosedWon" in known and "io.q2c.SendDunning" in known
    for t in catalog.topics:
        for schema in t.value_schemas:
            if schema.startswith("io.q2c."):
                assert schema in known, (t.name, schema)


def test_every_contract_type_has_a_topic(catalog: Catalog, repo_root: Path) -> None:
    used = {s for t in catalog.topics for s in t.value_schemas}
    assert _contract_types(repo_root) - used == set()


# --- model validation -------------------------------------------------------------------------


def _entry(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "q2c.test.events",
        "partitions": 3,
        "replication_factor": 3,
        "min_insync_replicas": 2,
        "cleanup_policy": "delete",
        "retention_ms": 1000,
        "key": "id",
        "value_schemas": ["io.q2c.ClosedWon"],
        "owner": "tests",
        "description": "a test topic",
    }
    entry.update(overrides)
    return entry


def _load(tmp_path: Path, *entries: dict[str, Any]) -> Catalog:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump({"topics": list(entries)}))
    return load_catalog(path)


def test_valid_entry_loads_and_extra_configs_become_strings(tmp_path: Path) -> None:
    catalog = _load(tmp_path, _entry(configs={"segment.ms": 3600000}))
    assert catalog.get("q2c.test.events").configs == {"segment.ms": "3600000"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "q2c.Test.events"}, "does not follow"),
        ({"name": "q2c.test_topic.events"}, "does not follow"),
        ({"name": "orders.events"}, "does not follow"),
        ({"name": "q2c.events"}, "does not follow"),
        ({"name": "q2c.a.b.c.d"}, "does not follow"),
        ({"partitions": 0}, "greater than 0"),
        ({"cleanup_policy": "compaction"}, "cleanup_policy"),
        ({"retention_ms": None}, "needs retention_ms"),
        ({"min_insync_replicas": 4}, "exceeds replication_factor"),
        ({"configs": {"retention.ms": 5}}, "own fields"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_entries_are_rejected(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(CatalogError, match=message):
        _load(tmp_path, _entry(**overrides))


def test_duplicate_names_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="duplicate topic names"):
        _load(tmp_path, _entry(), _entry(partitions=6))


def test_copartitioned_topics_must_agree(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="co-partition group"):
        _load(
            tmp_path,
            _entry(copartition_group="g"),
            _entry(name="q2c.test.state", partitions=6, copartition_group="g"),
        )


def test_missing_or_broken_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("topics: [\n")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(broken)


# --- name resolution --------------------------------------------------------------------------


def test_name_prepends_the_prefix() -> None:
    assert name("", "q2c.saga.inbox") == "q2c.saga.inbox"
    assert name("tabc.", "q2c.saga.inbox") == "tabc.q2c.saga.inbox"


@pytest.mark.parametrize(
    ("prefix", "logical"),
    [
        ("", "saga.inbox"),
        ("", "q2c.Saga.inbox"),
        ("bad prefix ", "q2c.saga.inbox"),
        ("x" * 240, "q2c.saga.inbox"),
    ],
)
def test_name_rejects_what_kafka_or_the_convention_would_not_take(
    prefix: str, logical: str
) -> None:
    with pytest.raises(ValueError):
        name(prefix, logical)
