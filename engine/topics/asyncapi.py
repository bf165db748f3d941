"""The topic catalog and the Avro contracts as an AsyncAPI 3.0 document.

What an analytics or integration team reads to subscribe to q2c's streams: one channel per
topic (its Kafka address with the deployment's prefix, partitions, replicas, cleanup policy
and retention as Kafka bindings), its messages with their Avro payload schemas, the record
key and the q2c headers, and one operation per channel saying whether q2c sends to it or
receives from it. Pure: catalog + schemas + prefix in, a dict out.
"""

from __future__ import annotations

import re
from typing import Any

from engine.codec.headers import (
    CORRELATION_ID,
    EVENT_ID,
    EVENT_TYPE,
    SCHEMA_FINGERPRINT,
    TRACEPARENT,
)
from engine.codec.store import NAMED_KINDS, SchemaStore
from engine.topics.models import Catalog, TopicSpec
from engine.topics.naming import name

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
AVRO_FORMAT = "application/vnd.apache.avro+json;version=1.9.0"
# Owners that are q2c itself: q2c sends to their topics and the owner's peers receive.
Q2C_OWNERS = frozenset({"q2c-engine", "q2c-ops"})
HEADERS_SCHEMA = "Q2cHeaders"
_ID = re.compile(r"[^\w.-]+")

HEADERS: dict[str, str] = {
    EVENT_TYPE: "message type: event type, command type or saga-status-changed",
    EVENT_ID: "event id or command id (absent on status events)",
    CORRELATION_ID: "saga key the message belongs to",
    SCHEMA_FINGERPRINT: "hex CRC-64-AVRO fingerprint of the writer schema (also in the value)",
    TRACEPARENT: "W3C trace context of the event that caused this message",
}


def _channel_id(logical: str) -> str:
    return _ID.sub("-", logical)


def _short(avro_name: str) -> str:
    return avro_name.rpartition(".")[2]


def avro_with_namespaces(schema: Any) -> Any:
    """The same Avro schema with every full `name` split into `namespace` + simple `name`.

    Equivalent for Avro; the AsyncAPI Avro meta-schema accepts only simple names.
    """
    if isinstance(schema, list):
        return [avro_with_namespaces(branch) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        k: avro_with_namespaces(v) if k in ("type", "items", "values") else v
        for k, v in schema.items()
    }
    if "fields" in schema:
        out["fields"] = [{**f, "type": avro_with_namespaces(f["type"])} for f in schema["fields"]]
    if schema.get("type") in NAMED_KINDS and "." in str(schema.get("name", "")):
        namespace, _, simple = schema["name"].rpartition(".")
        out.update(name=simple, namespace=namespace)
    return out


def _topic_configuration(spec: TopicSpec) -> dict[str, Any]:
    configs = spec.managed_configs(spec.replication_factor)
    out: dict[str, Any] = {"cleanup.policy": configs["cleanup.policy"].split(",")}
    # Only the keys the Kafka binding's topicConfiguration defines.
    for key in ("retention.ms", "delete.retention.ms", "max.message.bytes"):
        if key in configs:
            out[key] = int(configs[key])
    return out


def _message(spec: TopicSpec, schema_name: str | None) -> dict[str, Any]:
    key = {"type": "string", "description": f"record key: {spec.key}"}
    message: dict[str, Any] = {
        "bindings": {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING_VERSION}}
    }
    if schema_name is None:
        message.update(
            name="value",
            summary=", ".join(spec.value_schemas),
            description="Internal record, not an Avro contract: do not build consumers on it.",
        )
        return message
    message.update(
        name=_short(schema_name),
        title=schema_name,
        contentType="application/octet-stream",
        description=(
            "Avro single-object encoding: 0xC3 0x01, the 8-byte CRC-64-AVRO fingerprint of "
            "the writer schema, then the Avro binary body."
        ),
        headers={"$ref": f"#/components/schemas/{HEADERS_SCHEMA}"},
        payload={"$ref": f"#/components/schemas/{_short(schema_name)}"},
    )
    message["bindings"]["kafka"].update(schemaIdLocation="payload")
    return message


def asyncapi_document(
    catalog: Catalog, store: SchemaStore, *, prefix: str = "", version: str = "0"
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every catalog topic (names with `prefix`)."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        HEADERS_SCHEMA: {
            "type": "object",
            "description": "Kafka record headers q2c writes (UTF-8 strings)",
            "properties": {h: {"type": "string", "description": d} for h, d in HEADERS.items()},
        }
    }
    for spec in catalog.topics:
        channel_id = _channel_id(spec.name)
        avro = [s for s in spec.value_schemas if s in store.current.entries]
        messages = {_short(s): _message(spec, s) for s in avro} or {"value": _message(spec, None)}
        for avro_name in avro:
            schemas[_short(avro_name)] = {
                "schemaFormat": AVRO_FORMAT,
                "schema": avro_with_namespaces(store.entry(avro_name).standalone),
            }
        channels[channel_id] = {
            "address": name(prefix, spec.name),
            "title": spec.name,
            "description": f"{spec.description} Written by {spec.owner}.",
            "messages": messages,
            "bindings": {
                "kafka": {
                    "topic": name(prefix, spec.name),
                    "partitions": spec.partitions,
                    "replicas": spec.replication_factor,
                    "topicConfiguration": _topic_configuration(spec),
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
        }
        sends = spec.owner in Q2C_OWNERS
        operations[f"{'send' if sends else 'receive'}-{channel_id}"] = {
            "action": "send" if sends else "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": (
                f"q2c ({spec.owner}) writes {spec.name}"
                if sends
                else f"q2c reads {spec.name}, written by {spec.owner}"
            ),
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in messages],
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "q2c quote-to-cash streams",
            "version": version,
            "description": (
                "Topics of the q2c saga engine: inbound domain events, commands to each "
                "target system, saga status and analytics streams, master data and dead "
                "letters. Avro contracts evolve with full compatibility on topics other "
                "teams read (`q2c schemas check`)."
            ),
        },
        "defaultContentType": "application/octet-stream",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas},
    }
