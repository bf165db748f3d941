"""Garbage and mutated records on every inbound topic: the worker never stalls or crashes, and
every record is accounted for (in = applied + dead-lettered)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engine.codec import encode
from engine.contracts import record_key, topic_for
from engine.kafka.client import Producer
from engine.kafka.connection import KafkaConnection
from engine.kafka.records import OutRecord
from engine.runtime.app import Engine
from engine.runtime.names import TopicNames
from engine.workload.histories import HistoryOptions, deal_history, master_data
from tests.integration.engine_support import engine_settings, publish_all, read_topic_values

pytestmark = pytest.mark.kafka

VALID = [
    e
    for d in ("F-1", "F-2")
    for e in deal_history(d, HistoryOptions(base_time=datetime.now(UTC), correlated_replies=True))
]
VALID_BYTES = [(topic_for(e), record_key(e), encode(e)) for e in VALID]


def _mutations() -> st.SearchStrategy[bytes]:
    """Flipped bytes, truncations and appended junk of real records, plus pure garbage."""

    def mutate(args: tuple[int, int, int, bytes]) -> bytes:
        index, position, value, junk = args
        body = bytearray(VALID_BYTES[index % len(VALID_BYTES)][2])
        kind = position % 3
        if kind == 0 and body:
            body[position % len(body)] ^= (value % 255) + 1
            return bytes(body)
        if kind == 1:
            return bytes(body[: position % max(1, len(body))])
        return bytes(body) + junk

    return st.one_of(
        st.binary(min_size=0, max_size=200),
        st.tuples(
            st.integers(0, 999), st.integers(0, 10_000), st.integers(0, 254), st.binary(max_size=20)
        ).map(mutate),
    )


# One generated batch per run (a broker round trip is costly); no shrinking, which would
# re-run the whole engine many times.
@settings(
    max_examples=1,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(["crm", "erp", "billing", "masterdata"]), _mutations()),
        min_size=60,
        max_size=60,
    )
)
def test_fuzzed_inbound_records_are_processed_or_dead_lettered(
    kafka_bootstrap: str, records: list[tuple[str, bytes]]
) -> None:
    asyncio.run(_run(kafka_bootstrap, uuid.uuid4().hex[:10], records))


async def _run(bootstrap: str, unique: str, fuzzed: list[tuple[str, bytes]]) -> None:
    # Mutants that decode but name an unknown project wait for a correlation: keep it short.
    settings_ = await engine_settings(bootstrap, unique, correlation_wait_s=2.0)
    names = TopicNames(settings_.topic_prefix)
    await publish_all(settings_, master_data(["F-1", "F-2"]))
    producer = Producer(KafkaConnection.from_settings(settings_).options())
    await producer.start()
    try:
        outs = [
            OutRecord(names.events(domain), f"k{i}".encode(), value)
            for i, (domain, value) in enumerate(fuzzed)
        ]
        await producer.send_all(outs)
    finally:
        await producer.stop()
    await publish_all(settings_, VALID)  # good records behind the garbage
    engine = Engine(settings_, worker_id="fuzz", http=False)
    await engine.start()
    try:
        counts = engine.worker.processor.counts

        def expected() -> int:  # inputs + the validator's replies to validate-account
            return len(fuzzed) + len(VALID) + engine.validator.answered

        for _ in range(240):  # bounded: 120 s
            if counts["processed"] + counts["dead_lettered"] >= expected():
                await asyncio.sleep(2.0)  # let stragglers (late replies) show up too
                if counts["processed"] + counts["dead_lettered"] >= expected():
                    break
            await asyncio.sleep(0.5)
        processed, dead, total = counts["processed"], counts["dead_lettered"], expected()
    finally:
        await engine.stop()
    dlq = await read_topic_values(
        settings_, [names.dlq(names.events(d)) for d in ("crm", "erp", "billing", "masterdata")]
    )
    # Every record is either applied to a saga or dead-lettered, never both, never neither.
    assert processed + dead == total, (processed, dead, total)
    assert dead == len(dlq)
    assert dead >= 1
