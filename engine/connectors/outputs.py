"""What the translator writes for one native record (pure): canonical events or a dead letter.

Canonical events are encoded exactly as `Publisher` encodes them (Avro single-object bytes,
the `q2c-*` headers, keyed by saga key or business key). An untranslatable record goes to
`<native topic>.dlq` byte for byte, its original headers first, with the reason and the
native field path (`q2c.errors.field.path`); `q2c dlq replay` sends it back to its native
topic, where the current mapping translates it again.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.codec import Codec, headers_for
from engine.connectors.mapping import MappingFile
from engine.connectors.native import NativeRecordError, from_record
from engine.connectors.protocol import Unmapped
from engine.connectors.readback import Enricher
from engine.connectors.registry import native_events, translate_natives
from engine.contracts.events import Event
from engine.contracts.registry import record_key, topic_for
from engine.dlq.headers import Failure, Q, dead_letter_headers
from engine.kafka.records import InRecord, OutRecord
from engine.security.protection import seal_model

PROCESSOR = "q2c-translator"
FIELD_PATH = Q + "field.path"
READ_BACK = Q + "needs.read-back"
READ_BACK_PREFIX = "needs read-back of "


@dataclass(frozen=True)
class Outputs:
    """The records to write for one native record, and what they mean (for metrics)."""

    records: tuple[OutRecord, ...]
    events: tuple[Event, ...] = ()
    unmapped: Unmapped | None = None


def event_record(event: Event, codec: Codec, prefix: str) -> OutRecord:
    topic, key = topic_for(event, prefix), record_key(event).encode()
    value, sealed = seal_model(event, topic, key, codec)
    return OutRecord(topic, key, value, (*headers_for(event, codec=codec), *sealed))


def dead_letter(record: InRecord, unmapped: Unmapped, now_ms: int) -> OutRecord:
    failure = Failure(
        error_class=f"{Unmapped.__module__}.{Unmapped.__qualname__}",
        message=str(unmapped)[:1000],
        stage="translate",
        processor=PROCESSOR,
        task_id=f"{record.topic}-{record.partition}",
        first_failure_ms=now_ms,
        last_failure_ms=now_ms,
    )
    extra: list[tuple[str, bytes]] = [(FIELD_PATH, unmapped.field_path.encode())]
    if unmapped.reason.startswith(READ_BACK_PREFIX):
        extra.append((READ_BACK, unmapped.reason[len(READ_BACK_PREFIX) :].encode()))
    headers = dead_letter_headers(record, failure) + tuple(extra)
    return OutRecord(record.topic + ".dlq", record.key, record.value, headers)


async def outputs_for(
    record: InRecord,
    mappings: dict[str, MappingFile],
    codec: Codec,
    prefix: str,
    now_ms: int,
    enricher: Enricher | None = None,
) -> Outputs:
    """The canonical event records of `record`, or its dead letter. With an `enricher`, the
    read-backs the mapping names are made first (a transient read failure raises
    `TransientError`: nothing is written, the record is translated again)."""
    try:
        request = from_record(record)
    except NativeRecordError as exc:
        unmapped = Unmapped(str(exc), "q2c-native-platform")
        return Outputs((dead_letter(record, unmapped, now_ms),), unmapped=unmapped)
    natives = native_events(request)
    if not isinstance(natives, Unmapped) and enricher is not None:
        natives = await enricher.enrich_all(natives, mappings)
    result = (
        natives
        if isinstance(natives, Unmapped)
        else translate_natives(natives, mappings, request.received_at)
    )
    if isinstance(result, Unmapped):
        return Outputs((dead_letter(record, result, now_ms),), unmapped=result)
    return Outputs(tuple(event_record(e, codec, prefix) for e in result), events=tuple(result))
