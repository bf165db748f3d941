"""Baseline (b): the engine's saga logic hosted in faust-streaming as a table-backed agent.

What a Python user would otherwise write: one agent over the four domain topics that decodes
each record, translates it for the saga core, runs the same pure `step` for every interested
saga type against a faust Table (in-memory store, changelog topic), and sends the same command,
status and correlation records the engine writes. Faust owns commits, transactions
(processing_guarantee) and the table's changelog.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import faust
from faust.serializers import codecs

from engine.bench.effects import effect_records
from engine.codec import decode
from engine.contracts import Event
from engine.runtime.names import TopicNames
from engine.runtime.translate import to_saga_event
from engine.saga.codec import state_from_bytes, state_to_bytes
from engine.saga.engine import step
from engine.sagas import sagas_for_event

SAGA_CODEC = "q2c-saga-state"


class _SagaStateCodec(codecs.Codec):
    """Table values are SagaState objects; the changelog holds the engine's own bytes."""

    def _dumps(self, obj: Any) -> bytes:
        return state_to_bytes(obj)

    def _loads(self, s: bytes) -> Any:
        return state_from_bytes(s)


def build_app(
    bootstrap: str, inputs: list[str], out_prefix: str, group_id: str, *, exactly_once: bool
) -> faust.App:
    """A faust app whose agent applies the saga core to every input record."""
    codecs.register(SAGA_CODEC, _SagaStateCodec())
    app = faust.App(
        group_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        processing_guarantee="exactly_once" if exactly_once else "at_least_once",
        topic_partitions=6,
        topic_replication_factor=1,
        # The engine commits every 100 ms by default; faust's default is 2.8 s.
        broker_commit_interval=0.1,
        web_enabled=False,
        table_standby_replicas=0,
    )
    names = TopicNames(out_prefix)
    source = app.topic(*inputs, key_serializer="raw", value_serializer="raw")
    table = app.Table("sagas", default=None, partitions=6, key_type=bytes)
    # Faust derives the changelog codec from value_type (json for objects); use the engine's.
    table.value_serializer = SAGA_CODEC  # type: ignore[attr-defined]
    outputs: dict[str, faust.TopicT] = {}

    def output(topic: str) -> faust.TopicT:
        if topic not in outputs:
            outputs[topic] = app.topic(topic, key_serializer="raw", value_serializer="raw")
        return outputs[topic]

    @app.agent(source)
    async def sagas(stream: faust.StreamT) -> None:
        async for event in stream.events():
            msg = event.message
            model = decode(msg.value, topic=msg.topic, partition=msg.partition, offset=msg.offset)
            if not isinstance(model, Event):
                continue  # the inputs are event topics; anything else is not the saga's
            saga_key = model.envelope.correlation_id or (msg.key or b"").decode()
            saga_event = to_saga_event(model, saga_key)
            now = datetime.now(UTC)
            for definition in sagas_for_event(saga_event.event_type):
                key = f"{definition.name}|{saga_key}".encode()
                before = table.get(key)
                decision = step(definition, before, saga_event, now)
                if decision.state is before:
                    continue
                table[key] = decision.state
                for rec in effect_records(decision.effects, names, saga_key, now):
                    await output(rec.topic).send(
                        key=rec.key, value=rec.value, headers=list(rec.headers)
                    )

    return app


def run_faust(
    bootstrap: str, inputs: list[str], out_prefix: str, group_id: str, *, exactly_once: bool
) -> None:
    """Run the app in the foreground until SIGTERM/SIGINT (faust's worker handles signals)."""
    app = build_app(bootstrap, inputs, out_prefix, group_id, exactly_once=exactly_once)
    logging.getLogger("faust").setLevel(logging.WARNING)
    worker = faust.Worker(app, loglevel="WARNING", quiet=True)
    worker.execute_from_commandline()
