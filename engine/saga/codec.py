"""SagaState <-> compact JSON bytes, with exact Decimal, date and datetime round trips.

Written with orjson (the changelog gets one state per changed saga per commit: the hot path)
and summarised with it on restore; the bytes are the same compact UTF-8 JSON the standard
library writes, which still writes the rare document orjson refuses (an integer past 64 bits)
and reads full states, since its object hook restores the tagged values exactly where orjson
would read a big integer as a float.

JSON has no decimal or date types, so those values are written as one-key tagged objects
({"$dec": "12.3400"}, {"$date": "2024-05-01"}, {"$dt": "2024-05-01T10:00:00+00:00"}); data must
therefore not use those three keys alone in a dict of its own. Tuples come back as lists: saga
data is JSON-able by contract and uses lists. A parked event is kept as its contract's fields
(minus the envelope) and validated into its model again when read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import orjson

from engine.saga.model import HistoryRecord, SagaEvent, SagaState, Timer
from engine.saga.payload import payload_fields, payload_from_fields
from engine.saga.seen import SeenIds
from engine.security.protection import open_state, seal_state

FORMAT_VERSION = 1
_DEC, _DATE, _DT = "$dec", "$date", "$dt"
# Dates and datetimes reach `_encode_value` (tagged) instead of orjson's own RFC 3339 strings;
# non-string keys become strings, as the standard library's json writes them.
_DUMP_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _encode_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {_DEC: str(value)}
    # datetime is a subclass of date: test it first.
    if isinstance(value, datetime):
        return {_DT: value.isoformat()}
    if isinstance(value, date):
        return {_DATE: value.isoformat()}
    raise TypeError(f"saga state value of type {type(value).__name__} is not JSON-able")


def _decode_object(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        ((tag, text),) = obj.items()
        if tag == _DEC:
            return Decimal(text)
        if tag == _DT:
            return datetime.fromisoformat(text)
        if tag == _DATE:
            return date.fromisoformat(text)
    return obj


def _has_big_int(value: Any) -> bool:
    """Whether a document holds an integer orjson cannot write (past 64 bits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return not -(2**63) <= value < 2**64
    if isinstance(value, dict):
        return any(_has_big_int(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_big_int(v) for v in value)
    return False


def _event_to_json(event: SagaEvent) -> list[Any]:
    fields = payload_fields(event.payload)
    return [event.event_id, event.event_type, event.saga_key, event.occurred_at, fields]


def _event_from_json(raw: list[Any]) -> SagaEvent:
    event_id, event_type, saga_key, occurred_at, fields = raw
    payload = payload_from_fields(event_type, event_id, occurred_at, fields)
    return SagaEvent(event_id, event_type, saga_key, occurred_at, payload)


def state_to_bytes(state: SagaState, cycles: Mapping[str, list[float]] | None = None) -> bytes:
    """Serialise a state as compact UTF-8 JSON; `cycles` (the seconds its cycles took, as its
    type measures them) is kept beside it for `summary_from_bytes`."""
    doc: dict[str, Any] = {
        "f": FORMAT_VERSION,
        "type": state.saga_type,
        "key": state.saga_key,
        "state": state.state,
        "version": state.version,
        "data": state.data,
        "parked": [_event_to_json(e) for e in state.parked],
        # Chunk boundaries are kept so the decoded SeenIds equals the encoded one.
        "seen": [sorted(chunk) for chunk in state.seen.chunks],
        "timers": {tid: [t.name, t.fire_at, t.data] for tid, t in state.timers.items()},
        "history": [list(record) for record in state.history],
    }
    if cycles is not None:
        doc["cycles"] = {name: seconds for name, seconds in cycles.items() if seconds}
    try:
        # orjson hands back its whole write buffer (8 KB for a 0.7 KB state, measured with
        # orjson 3.13): a store keeps these bytes for every saga, so keep an exact-size copy.
        raw = memoryview(orjson.dumps(doc, default=_encode_value, option=_DUMP_OPTIONS)).tobytes()
    except TypeError:
        if not _has_big_int(doc):
            raise
        raw = json.dumps(
            doc, default=_encode_value, separators=(",", ":"), ensure_ascii=False
        ).encode()
    # A state holds the contract the saga computes with (rates, terms): sealed whole on the
    # changelog when the worker has a field keyset.
    return seal_state(raw)


def state_from_bytes(data: bytes) -> SagaState:
    """Inverse of `state_to_bytes`."""
    doc = json.loads(open_state(data), object_hook=_decode_object)
    if doc.get("f") != FORMAT_VERSION:
        raise ValueError(f"unsupported saga state format {doc.get('f')!r}")
    return SagaState(
        saga_type=doc["type"],
        saga_key=doc["key"],
        state=doc["state"],
        data=doc["data"],
        parked=tuple(_event_from_json(e) for e in doc["parked"]),
        seen=SeenIds(tuple(frozenset(chunk) for chunk in doc["seen"])),
        timers={tid: Timer(name, at, tdata) for tid, (name, at, tdata) in doc["timers"].items()},
        history=tuple(HistoryRecord(*record) for record in doc["history"]),
        version=doc["version"],
    )


class StateSummary(NamedTuple):
    """What a store indexes about a state: its name, armed timers, time of its last event, the
    states it ever entered, and its cycle times (None: not kept with the bytes)."""

    state: str
    timers: tuple[tuple[str, datetime], ...]  # (timer id, fire_at), sorted
    last_event_at: datetime | None  # the newest history record's time
    reached: frozenset[str]
    cycles: Mapping[str, list[float]] | None


def summary_of(state: SagaState, cycles: Mapping[str, list[float]] | None = None) -> StateSummary:
    timers = tuple(sorted((tid, t.fire_at) for tid, t in state.timers.items()))
    return StateSummary(
        state.state,
        timers,
        state.history[-1].at if state.history else None,
        frozenset([r.to_state for r in state.history] + [state.state]),
        cycles,
    )


def summary_from_bytes(data: bytes) -> StateSummary:
    """`summary_of(state_from_bytes(data), cycles)` without building the state: a plain JSON
    parse (no object hook, no SagaState), several times faster, for restoring a store. A state
    sealed on the changelog (the worker has a field keyset) is opened first."""
    doc = orjson.loads(open_state(data))
    if doc.get("f") != FORMAT_VERSION:
        raise ValueError(f"unsupported saga state format {doc.get('f')!r}")
    timers = tuple(
        sorted((tid, datetime.fromisoformat(t[1][_DT])) for tid, t in doc["timers"].items())
    )
    history = doc["history"]
    last = datetime.fromisoformat(history[-1][4][_DT]) if history else None
    reached = frozenset([record[1] for record in history] + [doc["state"]])
    return StateSummary(doc["state"], timers, last, reached, doc.get("cycles"))
