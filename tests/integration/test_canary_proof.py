"""The canary proof (issue 15, section 5): deals with a canary in every classified field run
end to end on the real broker with a field keyset; afterwards no canary is in clear in any
topic's records (keys, values, every header, dead letters and audit records included), in any
log line the run wrote, in /metrics, or in any API answer without the reveal. With the reveal
the operator sees the values and the audit topic says who, what and why."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from engine.codec import default_codec, headers_for
from engine.contracts import ClosedWon
from engine.dlq.reader import read_dead_letters
from engine.kafka.client import Consumer, Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import OutRecord, TopicPartition
from engine.observability.logging import JsonFormatter
from engine.ops.store import read_audit
from engine.runtime.app import Engine
from engine.runtime.names import TopicNames
from engine.security.keyring import FileKeysetProvider
from engine.security.protection import seal_model
from engine.security.redaction import classified_field_names
from engine.security.reveal import SAGA_REVEAL
from engine.settings import Settings
from engine.topics.loader import load_catalog
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.canary_support import (
    COST,
    PATTERNS,
    RATE,
    TAX,
    TOTAL,
    decimal_bytes,
    decoded_text,
    field_keyset,
    found_in,
    time_entry,
    with_canaries,
)
from tests.integration.engine_support import (
    all_completed,
    engine_settings,
    publish_all,
    wait_for_states,
)
from tests.integration.observability_support import OPERATOR, VIEWER, api_tokens

pytestmark = pytest.mark.kafka
DEALS = [f"CAN-{i:02d}" for i in range(1, 7)]


@dataclass
class Scan:
    """What was scanned, and where a canary was found in clear."""

    counts: dict[str, int] = field(default_factory=dict)
    clear: dict[str, set[str]] = field(default_factory=dict)

    def look(self, kind: str, where: str, *data: bytes | str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        for item in data:
            for canary in found_in(item):
                self.clear.setdefault(canary, set()).add(f"{kind}:{where}")

    def report(self) -> str:
        figures = ", ".join(f"{n} {kind}" for kind, n in self.counts.items())
        found = sum(len(v) for v in self.clear.values())
        return f"canary scan: {figures}; canaries found in clear: {found} {self.clear or ''}"


@pytest.fixture
def keyset(tmp_path: Path) -> Iterator[FileKeysetProvider]:
    with field_keyset(tmp_path / "field-keys.json") as provider:
        yield provider


@pytest.fixture
def run_log() -> Iterator[io.StringIO]:
    """Every log line of the run, at DEBUG, as the engine's own JSON formatter writes it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root, client = logging.getLogger(), logging.getLogger("aiokafka")
    levels = root.level, client.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    client.setLevel(logging.WARNING)  # as configure_logging: the client's chatter is not ours
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        client.setLevel(levels[1])


async def publish_raw(settings: Settings, records: list[OutRecord]) -> None:
    producer = Producer(KafkaConnection.from_settings(settings).options())
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(record)
    finally:
        await producer.stop()


async def scan_topics(settings: Settings, scan: Scan) -> None:
    """Every record of every catalog topic, aborted ones too: key, value, each header, and
    the value decoded as a reader without the key sees it."""
    topics = [settings.topic_prefix + name for name in load_catalog().names]
    consumer = Consumer(
        KafkaConnection.from_settings(settings).options(),
        group_id=None,
        read_committed=False,
        max_records=5000,
    )
    await consumer.start()
    try:
        parts = [
            TopicPartition(t, p) for t in topics for p in sorted(await consumer.partitions_for(t))
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(parts)
        ends = await consumer.end_offsets(parts)
        for _ in range(600):  # bounded
            for rec in await consumer.poll(timeout_ms=100):
                where = f"{rec.topic}:{rec.partition}:{rec.offset}"
                for name, value in rec.headers or ():
                    scan.look("header values", where, name, value)
                scan.look("records", where, rec.key or b"", rec.value or b"")
                scan.look("records decoded without the key", where, decoded_text(rec.value))
            if all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                break
    finally:
        await consumer.stop()
    scan.counts["topics"] = len(topics)


def api_paths(keys: list[str]) -> list[str]:
    """Every read route, for every saga key, from both sources."""
    out = ["/api/v1/whoami", "/api/v1/dlq", "/metrics"]
    for source in ("local", "changelog"):
        q = f"?source={source}"
        out += [f"/api/v1/{p}{q}" for p in ("overview", "exceptions", "finance", "operations")]
        out += [f"/api/v1/sagas{q}&limit=500"]
        for key in keys:
            out += [
                f"/api/v1/sagas/{key}{q}",
                f"/api/v1/deals/{key}/timeline{q}",
                f"/api/v1/deals/{key}/invoices{q}",
            ]
    return out


async def test_no_canary_in_clear_anywhere_but_an_audited_reveal(
    kafka_bootstrap: str, unique: str, keyset: FileKeysetProvider, run_log: io.StringIO
) -> None:
    await prove(kafka_bootstrap, unique, run_log, DEALS)


@pytest.mark.long
@pytest.mark.timeout(1200)
async def test_demo_sized_canary_proof(
    kafka_bootstrap: str, unique: str, keyset: FileKeysetProvider, run_log: io.StringIO
) -> None:
    """As many deals as `q2c demo` runs by default; the per-saga API routes for 12 of them
    (each changelog read reads the whole changelog), the list routes for all."""
    deals = [f"CAN-{i:03d}" for i in range(1, 201)]
    await prove(kafka_bootstrap, unique, run_log, deals, detail_keys=12)


async def prove(
    kafka_bootstrap: str,
    unique: str,
    run_log: io.StringIO,
    deals: list[str],
    detail_keys: int | None = None,
) -> None:
    """Run `deals` with canaries, scan everything the run left, assert no canary in clear;
    the per-saga API routes for the first `detail_keys` saga keys (all when None)."""
    settings = await engine_settings(kafka_bootstrap, unique, http_host="127.0.0.1", http_port=0)
    names = TopicNames(settings.topic_prefix)
    opts = HistoryOptions(base_time=datetime.now(UTC))
    histories = with_canaries([e for d in deals for e in deal_history(d, opts)])
    await publish_all(settings, with_canaries(master_data(deals)))
    await publish_all(settings, histories)
    # A CRM event on the ERP topic: dead-lettered at once, ciphertext and headers kept.
    stray = next(e for e in histories if isinstance(e, ClosedWon))
    value, sealed = seal_model(stray, names.events("erp"), b"CAN-stray")
    stray_record = OutRecord(
        names.events("erp"), b"CAN-stray", value, (*headers_for(stray), *sealed)
    )
    await publish_raw(settings, [stray_record])

    scan = Scan()
    why = "customer dispute 4711"
    with api_tokens():
        engine = Engine(settings, worker_id="w-canary", http=True)
        await engine.start()
    try:
        done = all_completed(len(deals))
        final = await wait_for_states(settings, done, timeout_s=120 + 2 * len(deals))
        assert done(final)
        # A resource's cost rate, on a deal that is done: the worker reads and routes it.
        await publish_all(settings, [time_entry(stray, f"PRJ-{deals[0]}", opts.base_time.date())])
        for _ in range(100):  # bounded: until the worker's DLQ write of the stray is seen
            if await read_dead_letters(
                KafkaConnection.from_settings(settings).options(), [names.dlq(names.events("erp"))]
            ):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)  # the time entry is handled too
        base = f"http://127.0.0.1:{engine.http_port}"
        async with httpx.AsyncClient(base_url=base, timeout=30.0) as http:
            keys = sorted({key for (_t, key) in final})[:detail_keys]
            for token in (VIEWER, OPERATOR):
                auth = {"Authorization": f"Bearer {token}"}
                for path in api_paths(keys):
                    answer = await http.get(path, headers=auth)
                    assert answer.status_code == 200, (path, answer.status_code)
                    scan.look("API/metrics answers", path, answer.content)
                    if "/timeline" in path:  # its commands are sealed: read with headers, key
                        entries = answer.json()["entries"]
                        assert answer.json()["commands_read"], path
                        assert any(e["kind"] == "command" for e in entries), path
            metrics = (await http.get("/metrics")).text
            for line in metrics.splitlines():
                scan.look("metric lines", "metrics", line)
            # The reveal: an operator, with a reason, sees the values.
            shown = await http.post(
                f"/api/v1/sagas/{deals[0]}/reveal",
                json={"why": why},
                headers={"Authorization": f"Bearer {OPERATOR}"},
            )
            assert shown.status_code == 200 and shown.json()["revealed"] is True
            assert {"tax_registration", "total_value"} <= found_in(shown.content)
            assert TAX in shown.text and str(TOTAL) in shown.text
    finally:
        await engine.stop()  # also writes the last sagas.read summary

    audit = await read_audit(
        KafkaConnection.from_settings(settings).options(), settings.topic_prefix
    )
    for record in audit:
        scan.look("audit records", record.action, record.to_bytes())
    (reveal,) = [a for a in audit if a.action == SAGA_REVEAL]
    assert reveal.by.startswith("operator:") and OPERATOR not in reveal.by
    assert (reveal.target, reveal.details["why"], reveal.via) == (deals[0], why, "api")
    assert "account" in reveal.details["fields"]["quote-to-cash"]
    reads = [a for a in audit if a.action == "sagas.read"]
    assert {r.by.split(":")[0] for r in reads} == {"viewer", "operator"}
    dead = await read_dead_letters(
        KafkaConnection.from_settings(settings).options(), [names.dlq(names.events("erp"))]
    )
    assert b"CAN-stray" in [d.key for d in dead]
    await scan_topics(settings, scan)
    lines = run_log.getvalue().splitlines()
    for n, line in enumerate(lines):
        scan.look("log lines", str(n), line)
    print(scan.report())
    # Every classified field of the contracts has a canary: a newly classified field without
    # one fails here instead of going unscanned.
    assert set(PATTERNS) == classified_field_names(default_codec().store.current.definitions)
    assert scan.counts["records"] > 100 and len(lines) > 100 and scan.counts["metric lines"]
    assert scan.clear == {}, scan.report()


def test_the_scan_sees_every_canary_in_a_record_left_in_clear(keyset: FileKeysetProvider) -> None:
    """The proof is not vacuous: unsealed, the same events show every canary to the scan;
    sealed, none (the bytes the proof reads on the broker)."""
    opts = HistoryOptions(base_time=datetime.now(UTC))
    events = with_canaries([*master_data(DEALS[:1]), *deal_history(DEALS[0], opts)])
    events.append(time_entry(events[2], f"PRJ-{DEALS[0]}", opts.base_time.date()))
    codec = default_codec()
    clear: set[str] = set()
    sealed: set[str] = set()
    for event in events:
        plain = codec.encode(event)
        clear |= found_in(plain) | found_in(decoded_text(plain))
        value, headers = seal_model(event, "q2c.crm.events", event.envelope.event_id.encode())
        seen: list[bytes | str] = [value, decoded_text(value), *(v for _, v in headers)]
        for data in seen:
            sealed |= found_in(data)
    assert clear == set(PATTERNS) and sealed == set()
    # Long enough not to turn up by chance in megabytes of ciphertext.
    assert all(len(decimal_bytes(v)) >= 5 for v in (TOTAL, RATE, COST))
